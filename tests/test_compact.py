"""Compact search (jaxzero.search.common.compact_model): the legal ids packed into K slots give the
same search as over all action ids, the targets keep their meaning, and an overflow is counted."""

import jax
import jax.numpy as jnp
import mctx
import numpy as np
import pytest
from flax import struct

from jaxzero.bench.search import random_positions
from jaxzero.games.masks import legal_slots
from jaxzero.games.registry import make_game
from jaxzero.search import SearchBudget, make_search, max_legal_actions
from jaxzero.search.common import run_policy
from jaxzero.search.gumbel import make_mctx_model
from tests.helpers import linear_model


def test_legal_slots_matches_numpy():
    rng = np.random.default_rng(0)
    for a, density, k in [(4681, 0.01, 256), (4681, 0.08, 256), (130, 0.5, 40), (7, 0.9, 7), (9, 0.5, 3)]:
        mask = rng.random((33, a)) < density
        mask[0] = False  # no legal id
        mask[1] = False
        mask[1, a - 1] = True  # only the last id
        ids, valid, count = jax.jit(legal_slots, static_argnums=1)(jnp.asarray(mask), k)
        assert ids.shape == valid.shape == (33, k) and count.shape == (33,)
        for b in range(33):
            want = np.flatnonzero(mask[b])
            assert int(count[b]) == len(want)
            n = min(len(want), k)
            np.testing.assert_array_equal(np.asarray(valid[b]), np.arange(k) < n)
            np.testing.assert_array_equal(np.asarray(ids[b, :n]), want[:n])  # increasing id order, first K kept
            assert np.all(np.asarray(ids[b, n:]) == 0)


@struct.dataclass
class SpreadState:
    inner: object
    current_player: jax.Array
    legal_action_mask: jax.Array
    rewards: jax.Array
    terminated: jax.Array
    truncated: jax.Array


class SpreadGame:
    """A game whose action ids are spread over a ``stride`` times larger space (inner id i is id
    ``stride * i + 1``; every other id is never legal), declaring ``max_legal_actions``."""

    def __init__(self, inner, stride=5, max_legal=None):
        self.inner, self.stride = inner, stride
        self.id = f"spread_{inner.id}"
        self.num_actions = inner.num_actions * stride
        self.num_players = inner.num_players
        self.observation_shape = inner.observation_shape
        self.max_legal_actions = inner.num_actions if max_legal is None else max_legal

    def _wrap(self, s):
        mask = jnp.zeros(self.num_actions, bool).at[jnp.arange(self.inner.num_actions) * self.stride + 1].set(
            s.legal_action_mask
        )
        return SpreadState(s, s.current_player, mask, s.rewards, s.terminated, s.truncated)

    def init(self, key):
        return self._wrap(self.inner.init(key))

    def step(self, state, action, key):
        return self._wrap(self.inner.step(state.inner, action // self.stride, key))

    def observe(self, state):
        return self.inner.observe(state.inner)


def _setup(name, batch=8, max_moves=5, seed=0, **spread):
    game = SpreadGame(make_game(name), **spread)
    apply_fn, params = linear_model(game, jax.random.PRNGKey(seed))
    states = jax.jit(lambda k: random_positions(game, k, batch, max_moves))(jax.random.PRNGKey(seed + 1))
    return game, apply_fn, params, states


def _search(kind, game, apply_fn, compact, gumbel_scale, sims=16, considered=4):
    budget = SearchBudget(sims, considered, gumbel_scale=gumbel_scale, compact=compact)
    return jax.jit(make_search(kind, game, apply_fn, budget))


@pytest.mark.parametrize(
    "name,kind", [("tic_tac_toe", "mctx"), ("connect_four", "mctx"), ("tic_tac_toe", "maxn"), ("tic_tac_toe", "paranoid")]
)
def test_compact_equals_full_search_without_noise(name, kind):
    game, apply_fn, params, states = _setup(name)
    assert max_legal_actions(game) < game.num_actions
    key = jax.random.PRNGKey(3)
    full = _search(kind, game, apply_fn, False, 0.0)(params, states, key)
    comp = _search(kind, game, apply_fn, True, 0.0)(params, states, key)
    k = max_legal_actions(game)
    assert full.search_tree.children_visits.shape[-1] == game.num_actions
    assert comp.search_tree.children_visits.shape[-1] == k  # the tree is over K slots
    np.testing.assert_array_equal(comp.action, full.action)
    np.testing.assert_allclose(comp.action_weights, full.action_weights, atol=1e-5)
    np.testing.assert_array_equal(comp.legal_overflow, 0)
    np.testing.assert_array_equal(full.legal_overflow, 0)


def test_compact_with_identity_ids_equals_full_search_with_noise():
    # K = A and every id legal (initial positions): the slots are the ids, so even the Gumbel noise
    # lands on the same actions and the two searches are the same computation
    game = make_game("connect_four")
    apply_fn, params = linear_model(game, jax.random.PRNGKey(0))
    states = jax.vmap(game.init)(jax.random.split(jax.random.PRNGKey(1), 6))
    assert bool(jnp.all(states.legal_action_mask))
    budget = SearchBudget(16, 4, gumbel_scale=1.0)
    model = make_mctx_model(game, apply_fn)

    def run(num_slots):
        return jax.jit(lambda p, s, k: run_policy(mctx.gumbel_muzero_policy, model, budget, p, s, k, num_slots=num_slots))

    key = jax.random.PRNGKey(7)
    full, comp = run(None)(params, states, key), run(game.num_actions)(params, states, key)
    np.testing.assert_array_equal(comp.action, full.action)
    np.testing.assert_allclose(comp.action_weights, full.action_weights, atol=1e-6)


@pytest.mark.parametrize("kind", ["mctx", "maxn"])
def test_compact_targets_with_noise_are_legal_distributions(kind):
    game, apply_fn, params, states = _setup("tic_tac_toe", batch=16)
    out = _search(kind, game, apply_fn, True, 1.0)(params, states, jax.random.PRNGKey(5))
    legal = np.asarray(states.legal_action_mask)
    w = np.asarray(out.action_weights)
    assert w.shape == legal.shape
    np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-5)
    assert np.all(w[~legal] == 0.0)
    assert np.all(legal[np.arange(len(legal)), np.asarray(out.action)])


def test_overflow_is_counted_and_searches_the_first_k():
    # 9 legal moves at the start of tic-tac-toe, 4 slots: the root overflows
    game = SpreadGame(make_game("tic_tac_toe"), max_legal=4)
    apply_fn, params = linear_model(game, jax.random.PRNGKey(0))
    states = jax.vmap(game.init)(jax.random.split(jax.random.PRNGKey(1), 3))
    out = _search("mctx", game, apply_fn, True, 1.0, sims=8)(params, states, jax.random.PRNGKey(2))
    first = np.flatnonzero(np.asarray(states.legal_action_mask[0]))[:4]
    assert np.all(np.asarray(out.legal_overflow) >= 1)  # at least the root
    assert set(np.asarray(out.action).tolist()) <= set(first.tolist())
    w = np.asarray(out.action_weights)
    np.testing.assert_allclose(w[:, first].sum(-1), 1.0, atol=1e-5)


# extended (CI budget, 2026-12-07): 255 s of the slow tier on a quiet dev VM, nearly all of it compiling
# the full-id search over 4,681 ids; the same equality runs in CI on tic-tac-toe and connect four above
@pytest.mark.extended
def test_compact_equals_full_search_ringrift_square8():
    game = make_game("ringrift_square8_2p")
    assert max_legal_actions(game) == 256 < game.num_actions
    apply_fn, params = linear_model(game, jax.random.PRNGKey(0), logit_scale=0.05, value_scale=0.05)
    states = jax.jit(lambda k: random_positions(game, k, 4, 30))(jax.random.PRNGKey(1))
    key = jax.random.PRNGKey(2)
    full = _search("mctx", game, apply_fn, False, 0.0, sims=4)(params, states, key)
    comp = _search("mctx", game, apply_fn, True, 0.0, sims=4)(params, states, key)
    np.testing.assert_array_equal(comp.action, full.action)
    np.testing.assert_allclose(comp.action_weights, full.action_weights, atol=1e-5)
    np.testing.assert_array_equal(comp.legal_overflow, 0)
