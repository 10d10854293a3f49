"""Heuristic evaluation features on a hand-built position, and the greedy player's strength."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxzero.games.ringrift import heuristic as H
from jaxzero.games.ringrift.boards import get_board
from jaxzero.games.ringrift.state import RulesConfig, empty_state


def _position():
    cfg = RulesConfig(board="square8", num_players=3)
    b = get_board("square8")
    s = empty_state(cfg)
    c = lambda x, y: b.index((x, y))  # noqa: E731
    rings = s.rings.at[c(0, 0), :3].set(jnp.array([2, 1, 1], jnp.int8))  # seat 1 controls, cap 2, seat 2 buried
    rings = rings.at[c(5, 5), :1].set(jnp.array([3], jnp.int8))
    height = s.height.at[c(0, 0)].set(3).at[c(5, 5)].set(1)
    marker = s.marker.at[c(2, 2)].set(1).at[c(3, 2)].set(1).at[c(7, 7)].set(1).at[c(4, 4)].set(2)
    return cfg, s.replace(
        rings=rings, height=height, marker=marker,
        hand=jnp.array([10, 18, 17], jnp.int32), elim=jnp.array([6, 0, 0], jnp.int32),
        terr=jnp.array([0, 11, 0], jnp.int32),
    )


def test_features_exact():
    cfg, s = _position()
    f = np.asarray(H.seat_features(cfg, s))
    names = list(H.DEFAULT_WEIGHTS)
    col = {k: f[:, names.index(k)] for k in names}
    np.testing.assert_allclose(col["eliminated"], [6 / 24, 0, 0])
    np.testing.assert_allclose(col["territory"], [0, 11 / 22, 0])
    np.testing.assert_allclose(col["stacks"], [1 / 8, 0, 1 / 8])
    np.testing.assert_allclose(col["caps"], [2 / 18, 0, 1 / 18])
    np.testing.assert_allclose(col["rings_in_play"], [12 / 18, 19 / 18, 18 / 18])
    np.testing.assert_allclose(col["markers"], [3 / 16, 1 / 16, 0])
    np.testing.assert_allclose(col["line_potential"], [2 / 16, 0, 0])  # (2,2)-(3,2) pair; (7,7) alone
    np.testing.assert_allclose(col["buried"], [0, 1 / 18, 0])


def test_evaluate_against_strongest_opponent_and_wins():
    cfg, s = _position()
    w = H.weights_vector({"territory": 10.0})
    sc = np.asarray(H.seat_scores(cfg, s, w))
    assert float(H.evaluate(cfg, s, jnp.int32(0), w)) == pytest.approx(sc[0] - max(sc[1], sc[2]), rel=1e-6)
    won = s.replace(winner=jnp.int32(2))
    assert float(H.evaluate(cfg, won, jnp.int32(2), w)) > 1000
    with pytest.raises(ValueError, match="unknown heuristic weight"):
        H.weights_vector({"nope": 1.0})


@pytest.mark.slow
def test_greedy_beats_random_square8_2p():
    import jaxzero.games.ringrift as rr

    cfg = RulesConfig(board="square8", num_players=2, auto_single=True)
    w = H.weights_vector()
    batch = 24

    def play(st, key):
        k1, k2 = jax.random.split(key)
        greedy = jax.vmap(lambda s, k: H.greedy_action(cfg, s, k, w))(st, jax.random.split(k1, batch))
        rand = jax.vmap(lambda s, k: jax.random.categorical(k, jnp.where(s.legal_action_mask, 0.0, -jnp.inf)))(
            st, jax.random.split(k2, batch))
        a = jnp.where(st.cur == jnp.arange(batch) % 2, greedy, rand).astype(jnp.int32)
        nxt = jax.vmap(lambda s, x: rr.step(cfg, s, x))(st, a)
        done = st.terminated | st.truncated
        return jax.tree.map(lambda x, y: jnp.where(done.reshape((-1,) + (1,) * (x.ndim - 1)), x, y), st, nxt)

    st = jax.jit(jax.vmap(lambda k: rr.init(cfg, k)))(jax.random.split(jax.random.PRNGKey(0), batch))
    play = jax.jit(play)
    key = jax.random.PRNGKey(1)
    for _ in range(300):
        key, sub = jax.random.split(key)
        st = play(st, sub)
        if bool((st.terminated | st.truncated).all()):
            break
    assert bool(st.terminated.all())
    seat = np.arange(batch) % 2
    score = (np.asarray(st.rewards)[np.arange(batch), seat] + 1) / 2  # core state: rewards per seat
    assert score.mean() >= 0.8, score
