"""Observation encoding is seat-relative, and the spatial policy table covers every action once."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxzero.games.ringrift import actions
from jaxzero.games.ringrift.boards import get_board
from jaxzero.games.ringrift.observe import observation_shape, observe, policy_gather_table
from jaxzero.games.ringrift.state import RulesConfig, empty_state


def _random_state(cfg, seed):
    """A cluttered (not necessarily reachable) state with every field populated."""
    rng = np.random.default_rng(seed)
    b = get_board(cfg.board)
    n, h, p = b.num_cells, b.max_height, cfg.num_players
    s = empty_state(cfg)
    kind = rng.integers(0, 4, n)  # 0 empty, 1 stack, 2 marker, 3 collapsed
    height = np.where(kind == 1, rng.integers(1, h + 1, n), 0)
    rings = np.where(np.arange(h)[None, :] < height[:, None], rng.integers(1, p + 1, (n, h)), 0)
    return s.replace(
        rings=jnp.asarray(rings, jnp.int8),
        height=jnp.asarray(height, jnp.int8),
        marker=jnp.asarray(np.where(kind == 2, rng.integers(1, p + 1, n), 0), jnp.int8),
        collapsed=jnp.asarray(np.where(kind == 3, rng.integers(1, p + 1, n), 0), jnp.int8),
        hand=jnp.asarray(rng.integers(0, 19, p), jnp.int32),
        elim=jnp.asarray(rng.integers(0, 19, p), jnp.int32),
        terr=jnp.asarray(rng.integers(0, 30, p), jnp.int32),
        cur=jnp.asarray(rng.integers(0, p), jnp.int32),
        phase=jnp.asarray(rng.integers(0, 7), jnp.int32),
        must_move=jnp.asarray(int(np.flatnonzero(kind == 1)[0]), jnp.int32),
        pend_line=jnp.asarray(True),
    )


def _rotate_colours(s, p, shift):
    """Renames seat s -> s + shift (mod P) everywhere, the mover included."""
    ren = lambda a: jnp.where(a > 0, (a.astype(jnp.int32) - 1 + shift) % p + 1, 0).astype(a.dtype)  # noqa: E731
    roll = lambda v: jnp.roll(v, shift, axis=0)  # noqa: E731
    return s.replace(
        rings=ren(s.rings),
        marker=ren(s.marker),
        collapsed=ren(s.collapsed),
        hand=roll(s.hand),
        elim=roll(s.elim),
        terr=roll(s.terr),
        cur=(s.cur + shift) % p,
    )


@pytest.mark.parametrize("board,players", [("square8", 3), ("square8", 4), ("hex8", 3)])
def test_observation_is_seat_relative(board, players):
    cfg = RulesConfig(board=board, num_players=players)
    enc = jax.jit(lambda st: observe(cfg, st))
    for seed in range(3):
        s = _random_state(cfg, seed)
        base = np.asarray(enc(s))
        assert base.shape == observation_shape(cfg)
        for shift in range(1, players):
            np.testing.assert_array_equal(np.asarray(enc(_rotate_colours(s, players, shift))), base)
        # and the encoding does depend on who moves
        other = s.replace(cur=(s.cur + 1) % players)
        assert not np.array_equal(np.asarray(enc(other)), base)


def test_hex_padding_is_empty():
    cfg = RulesConfig(board="hex8", num_players=2)
    o = np.asarray(observe(cfg, _random_state(cfg, 0)))
    valid = get_board("hex8").grid_valid
    assert not o[~valid].any()
    np.testing.assert_array_equal(o[..., 0], valid)


@pytest.mark.parametrize("board", ["square8", "hex8"])
def test_policy_table_covers_every_action_once(board):
    b = get_board(board)
    lay = actions.layout_for(b)
    index, cell_channels, num_global = policy_gather_table(board)
    rows, cols = b.grid_shape
    total = rows * cols * cell_channels + num_global
    assert index.shape == (lay.num_actions,)
    assert index.min() >= 0 and index.max() < total
    assert len(np.unique(index)) == lay.num_actions  # no two actions read the same logit
    # cell-bound actions read a logit at their own cell, never at hex padding
    grid_of = index[index < rows * cols * cell_channels] // cell_channels
    assert b.grid_valid.reshape(-1)[grid_of].all()
    for a in (lay.place(5, 2), lay.ray(7, 1, 3), lay.line(1, 9, 1), lay.region(4, 11), lay.target(13)):
        block, fields = lay.decode(a)
        cell = fields[1] if block == actions.LINE else fields[0] if block != actions.REGION else fields[1]
        assert index[a] // cell_channels == b.grid_index[cell]
