"""The invariant checker catches planted corrupt states; the jitted env keeps every invariant under
random legal and illegal ids, and an illegal id leaves the state unchanged (jaxzero/bench/fuzz.py)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxzero.bench.fuzz import fuzz_game
from jaxzero.games.registry import make_game
from jaxzero.games.ringrift.invariants import BIT, names, state_violations, step_violations
from jaxzero.games.ringrift.state import GAME_OVER


@pytest.fixture(scope="module")
def game():
    return make_game("ringrift_square8_2p")


@pytest.fixture(scope="module")
def placed(game):
    """A small batch of real positions: the first two placements of a game, repeated."""
    s = game.init(jax.random.PRNGKey(0))
    step = jax.jit(game.step)
    s = step(s, jnp.int32(game.layout.place(27, 2)))  # seat 1: two rings on cell 27, then must move it
    return jax.tree.map(lambda x: jnp.stack([x, x]), s)


def _plant(batch, **fields):
    """The batch with game 1's ``fields`` replaced (``name=fn(old_value_of_game_1)``)."""
    return batch.replace(**{k: getattr(batch, k).at[1].set(fn(getattr(batch, k)[1])) for k, fn in fields.items()})


PLANTED = {
    "cell_exclusive": dict(marker=lambda m: m.at[27].set(1)),  # a marker under the stack
    "owner_range": dict(collapsed=lambda c: c.at[0].set(7)),
    "stack_shape": dict(height=lambda h: h.at[27].set(1)),  # two rings, height 1
    "ring_conservation": dict(hand=lambda h: h.at[0].add(1)),  # a ring created
    "turn_fields": dict(cur=lambda c: jnp.int32(5)),
    "protocol": dict(legal_action_mask=lambda m: jnp.zeros_like(m)),  # a running game with no legal move
}


def test_valid_states_pass_and_each_planted_corruption_is_caught(placed):
    check = jax.jit(lambda s: state_violations(make_game("ringrift_square8_2p").cfg, s))
    assert np.asarray(check(placed)).tolist() == [0, 0]
    for name, fields in PLANTED.items():
        bits = np.asarray(check(_plant(placed, **fields)))
        assert bits[0] == 0 and bits[1] & BIT[name], (name, names(bits[1]))
    over = _plant(placed, phase=lambda p: jnp.int32(GAME_OVER))  # game over but not terminated
    assert "turn_fields" in names(int(check(over)[1]))


def test_step_invariants_catch_an_illegal_id_that_changed_the_state(game, placed):
    cfg = game.cfg
    check = jax.jit(lambda p, a, n: step_violations(cfg, p, a, n))
    illegal = jnp.asarray([-1, game.num_actions], jnp.int32)  # out of range on both sides
    assert np.asarray(check(placed, illegal, placed)).tolist() == [0, 0]  # unchanged: fine
    moved = _plant(placed, move_count=lambda m: m + 1)
    assert np.asarray(check(placed, illegal, moved))[1] == BIT["illegal_changed"]
    legal = jnp.full((2,), int(np.flatnonzero(np.asarray(placed.legal_action_mask[0]))[0]), jnp.int32)
    back = _plant(placed, hand=lambda h: h.at[1].add(-1))  # a ring vanished without credit
    assert np.asarray(check(placed, legal, back))[1] & BIT["ring_conservation"]


def test_the_jitted_step_ignores_illegal_ids(game, placed):
    step = jax.jit(jax.vmap(game.step, in_axes=(0, 0, None)))
    mask = np.asarray(placed.legal_action_mask[0])
    masked_off = int(np.flatnonzero(~mask)[0])
    for ids in ([masked_off, -1], [game.num_actions, 10**6]):
        out = step(placed, jnp.asarray(ids, jnp.int32), None)
        jax.tree.map(np.testing.assert_array_equal, out, placed)
    legal = int(np.flatnonzero(mask)[0])
    out = step(placed, jnp.asarray([legal, masked_off], jnp.int32), None)
    assert int(out.move_count[0]) > int(placed.move_count[0]) and int(out.move_count[1]) == int(placed.move_count[1])


@pytest.mark.extended  # CI budget (2026-12-06): 65 s on the loaded 2-core dev VM (scripts/bench.py fuzz runs it too)
def test_fuzz_finds_no_violation_and_would_report_one(game):
    """10^4 random legal/illegal steps on square8 2p: no violation; the same fuzz with a step that
    plants a marker under a stack whenever it gets an illegal id reports violations."""
    r = fuzz_game(game, 10**4, batch=64, chunk=16, reset_every=4)
    assert r["steps"] >= 10**4 and r["violations"] == 0, r
    assert r["illegal_ids"] > 4000 and r["legal_ids"] > 4000, r

    def corrupting(s, a):
        c = jnp.argmax(s.height)  # the tallest stack
        bad = ~s.legal_action_mask[jnp.clip(a, 0, game.num_actions - 1)] & (s.height[c] > 0)
        out = game.step(s, a)
        return out.replace(marker=jnp.where(bad, out.marker.at[c].set(1), out.marker))

    planted = fuzz_game(game, 2048, batch=64, chunk=16, step=corrupting)
    assert planted["violations"] > 0 and "cell_exclusive" in planted["violations_per_invariant"], planted
