"""Search over the real game: rewards/discounts of recurrent_fn, masking, improved-policy output."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct

from jaxzero.config import default_config
from jaxzero.games.registry import make_game
from jaxzero.nn import make_model
from jaxzero.search import ILLEGAL_LOGIT, SearchBudget, run_mctx_search, with_value_prior
from jaxzero.search.gumbel import make_mctx_model


def ttt_after(actions):
    """A single tic-tac-toe state after the given moves."""
    game = make_game("tic_tac_toe")
    s = game.init(jax.random.key(0))
    for a in actions:
        s = game.step(s, jnp.int32(a), jax.random.key(0))
    return game, s


def batch(*states):
    return jax.tree.map(lambda *x: jnp.stack(x), *states)


@struct.dataclass
class ToyState:
    current_player: jax.Array
    legal_action_mask: jax.Array
    rewards: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    moves: jax.Array


class ToyGame:
    """Action 1 keeps the turn (same player moves again), action 0 passes it; 3 moves end the game, seat 0 wins."""

    id = "toy"
    num_actions = 3
    num_players = 2
    observation_shape = (1, 1, 1)

    def init(self, key):
        return ToyState(jnp.int32(0), jnp.array([True, True, False]), jnp.zeros(2), jnp.bool_(False), jnp.bool_(False), jnp.int32(0))

    def step(self, state, action, key):
        moves = state.moves + 1
        player = jnp.where(action == 1, state.current_player, 1 - state.current_player)
        term = moves >= 3
        return ToyState(
            player, state.legal_action_mask, jnp.where(term, jnp.array([1.0, -1.0]), 0.0), term, jnp.bool_(False), moves
        )

    def observe(self, state):
        return jnp.full((1, 1, 1), state.moves, jnp.float32)


def zero_net(num_actions, players=2):
    def apply(params, obs):
        b = obs.shape[0]
        return jnp.zeros((b, num_actions)), jnp.full((b, players), 0.25)

    return apply


def test_recurrent_fn_rewards_and_discounts_tictactoe():
    # X: 0, 1 ; O: 3, 4 ; X to move. 2 wins for X; 5 blocks nothing and also threatens nothing.
    game, s = ttt_after([0, 3, 1, 4])
    states = batch(s, s)
    _, rec = make_mctx_model(game, zero_net(9))
    out, nxt = rec(None, jax.random.key(0), jnp.array([2, 6]), states)
    np.testing.assert_allclose(out.reward, [1.0, 0.0])  # reward of the player who just moved
    np.testing.assert_allclose(out.discount, [0.0, -1.0])  # terminal -> 0, turn passes -> -1
    np.testing.assert_allclose(out.value, [0.0, 0.25])  # no value past the end; net value[0] otherwise
    # illegal actions masked inside recurrent_fn (occupied cells 0, 1, 3, 4, 6 after the second action)
    logits = np.asarray(out.prior_logits[1])
    assert np.all(logits[[0, 1, 3, 4, 6]] == ILLEGAL_LOGIT) and np.all(logits[[2, 5, 7, 8]] == 0.0)


def test_recurrent_fn_same_player_discount_plus_one():
    game = ToyGame()
    s = game.init(jax.random.key(0))
    _, rec = make_mctx_model(game, zero_net(3))
    out, nxt = rec(None, jax.random.key(0), jnp.array([1, 0]), batch(s, s))
    np.testing.assert_allclose(out.discount, [1.0, -1.0])
    np.testing.assert_array_equal(nxt.current_player, [0, 1])
    np.testing.assert_allclose(out.prior_logits[:, 2], ILLEGAL_LOGIT)
    # last move: seat 1 moving into the end gets its own reward (-1)
    s2 = ToyState(jnp.int32(1), s.legal_action_mask, jnp.zeros(2), jnp.bool_(False), jnp.bool_(False), jnp.int32(2))
    out, _ = rec(None, jax.random.key(0), jnp.array([0]), batch(s2))
    np.testing.assert_allclose(out.reward, [-1.0])
    np.testing.assert_allclose(out.discount, [0.0])


@pytest.fixture(scope="module")
def ttt_net():
    game = make_game("tic_tac_toe")
    cfg = default_config()
    cfg.net.num_blocks, cfg.net.channels = 1, 8
    model, params = make_model(cfg.net, game)
    return game, model, params


def test_search_finds_the_win_and_masks_illegal(ttt_net):
    game, model, params = ttt_net
    _, win = ttt_after([0, 3, 1, 4])  # X wins at 2
    _, block = ttt_after([0, 3, 8, 4])  # X must block at 5
    states = batch(win, block)

    @jax.jit
    @chex.assert_max_traces(n=1)
    def search(p, s, k):
        budget = SearchBudget(num_simulations=64, max_num_considered_actions=9, gumbel_scale=0.0)
        return run_mctx_search(game, model.apply, budget, p, s, k)

    out = search(params, states, jax.random.key(0))
    out2 = search(params, states, jax.random.key(1))  # no retrace
    assert out.action.shape == (2,) and out.action_weights.shape == (2, 9)
    assert int(out.action[0]) == 2
    assert int(out.action[1]) == 5
    np.testing.assert_array_equal(out.action, out2.action)  # gumbel_scale = 0: deterministic
    w = np.asarray(out.action_weights)
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-5)
    assert np.all(w[~np.asarray(states.legal_action_mask)] == 0.0)
    assert w[0].argmax() == 2  # the improved policy prefers the win
    # the search value is the chosen move's Q seen by the mover: the immediate win is worth +1
    q = np.asarray(out.search_tree.summary().qvalues)
    np.testing.assert_allclose(out.search_value, q[np.arange(2), np.asarray(out.action)], rtol=1e-6)
    np.testing.assert_allclose(out.search_value[0], 1.0, rtol=1e-6)


def test_value_scale_moves_the_improved_policy_between_the_prior_and_the_search(ttt_net):
    """``SearchBudget.value_scale`` (mctx's ``qtransform_completed_by_mix_value``) weighs Q against
    the prior in the policy target: a tiny scale gives back the prior, the default moves the target
    towards the win; without the min-max rescale the shift follows the raw Q differences."""
    game, model, params = ttt_net
    _, win = ttt_after([0, 3, 1, 4])  # X wins at 2
    states = batch(win, win)
    legal = np.asarray(states.legal_action_mask)
    logits, _ = model.apply(params, jax.vmap(game.observe)(states))
    prior = np.asarray(jax.nn.softmax(jnp.where(legal, logits, -jnp.inf), axis=-1))

    def target(**kw):
        budget = SearchBudget(num_simulations=32, max_num_considered_actions=5, gumbel_scale=0.0, **kw)
        return np.asarray(run_mctx_search(game, model.apply, budget, params, states, jax.random.key(0)).action_weights)

    def kl_from_prior(w):
        return float(np.sum(np.where(w > 0, w * (np.log(np.maximum(w, 1e-30)) - np.log(np.maximum(prior, 1e-30))), 0.0)))

    default, tiny, raw = target(), target(value_scale=1e-4), target(rescale_values=False)
    np.testing.assert_allclose(tiny, prior, atol=2e-3)
    assert default[0].argmax() == 2 and default[0, 2] > prior[0, 2] + 0.2
    assert kl_from_prior(tiny) < kl_from_prior(raw) and kl_from_prior(tiny) < kl_from_prior(default)
    with pytest.raises(ValueError, match="value_scale"):
        SearchBudget(num_simulations=4, max_num_considered_actions=2, value_scale=0.0)


def test_a_value_prior_mixes_into_the_leaf_values_by_its_traced_weight(ttt_net):
    """`with_value_prior`: the search's leaf values are ``(1 - w) * net + w * prior`` (checked against
    a network that returns exactly that mix), the priors stay the network's, and the weight is a
    traced argument (one compile for every weight)."""
    game, model, params = ttt_net
    states = batch(ttt_after([0, 3])[1], ttt_after([4])[1], ttt_after([0, 3, 8, 4])[1])

    def prior_of_obs(obs):  # any state function that disagrees with the net: here from the board
        x = jnp.tanh(jnp.sum(obs * jnp.arange(obs.size).reshape(obs.shape)) / 10.0)
        return jnp.stack([x, -x])

    def prior_fn(state):
        return prior_of_obs(game.observe(state))

    budget = SearchBudget(num_simulations=24, max_num_considered_actions=9, gumbel_scale=0.0)
    wgame, wapply = with_value_prior(game, model.apply, prior_fn)

    @jax.jit
    @chex.assert_max_traces(n=1)
    def mixed(p, weight):
        return run_mctx_search(wgame, wapply, budget, (p, weight), states, jax.random.key(0))

    for weight in (0.0, 0.5, 1.0):
        def reference_apply(p, obs, weight=weight):
            logits, values = model.apply(p, obs)
            return logits, (1 - weight) * values + weight * jax.vmap(prior_of_obs)(obs)

        want = run_mctx_search(game, reference_apply, budget, params, states, jax.random.key(0))
        got = mixed(params, jnp.float32(weight))
        np.testing.assert_array_equal(got.action, want.action)
        np.testing.assert_allclose(got.action_weights, want.action_weights, atol=1e-5)
        if weight == 0.0:
            plain = run_mctx_search(game, model.apply, budget, params, states, jax.random.key(0))
            np.testing.assert_allclose(got.action_weights, plain.action_weights, atol=1e-6)
    full = np.asarray(mixed(params, jnp.float32(1.0)).action_weights)
    none = np.asarray(mixed(params, jnp.float32(0.0)).action_weights)
    assert np.abs(full - none).max() > 1e-3  # the prior changes the targets
