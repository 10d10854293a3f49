"""Gumbel MuZero search with the real game as the model (mctx), for two players.

The tree's "model" is the game itself: ``recurrent_fn`` steps the env and evaluates the network.
Rewards and values are from the point of view of the player to move at the parent node, so the
discount is -1 when the player to move changes, +1 when the same player moves again, and 0 at a
terminal state. This module knows nothing of any particular game beyond the `Game` protocol.
"""

from __future__ import annotations

from typing import Optional

import chex
import jax.numpy as jnp
import mctx

from jaxzero.search.common import (
    SearchBudget,
    SearchOutput,
    evaluate,
    is_done,
    run_policy,
    search_slots,
    step_and_evaluate,
)


def make_mctx_model(game, apply_fn):
    """``(root_fn, recurrent_fn)`` for ``mctx.gumbel_muzero_policy`` in the 2-player convention.

    ``root_fn(params, states) -> mctx.RootFnOutput`` (embedding = the batch of game states, value =
    the mover's ``values[:, 0]``); ``recurrent_fn(params, key, action [B], states) ->
    (mctx.RecurrentFnOutput, next_states)``: the reward of the seat that moved (0 past an already
    finished state), ``discount`` -1 when the mover changes, +1 when it moves again, 0 at a terminal
    state, where the value is 0 too.
    """

    def root_fn(params, states):
        logits, values = evaluate(game, apply_fn, params, states)
        return mctx.RootFnOutput(prior_logits=logits, value=values[:, 0], embedding=states)

    def recurrent_fn(params, key, action, state):
        prev_player = state.current_player
        prev_done = is_done(state)
        next_state, logits, values = step_and_evaluate(game, apply_fn, params, key, action, state)
        done = is_done(next_state)
        # Reward of the player who just moved; nothing past an already finished state.
        reward = jnp.take_along_axis(next_state.rewards, prev_player[:, None], axis=1)[:, 0]
        reward = jnp.where(prev_done, 0.0, reward)
        same_player = next_state.current_player == prev_player
        discount = jnp.where(done, 0.0, jnp.where(same_player, 1.0, -1.0))
        value = jnp.where(done, 0.0, values[:, 0])
        chex.assert_shape([reward, discount, value], action.shape)
        out = mctx.RecurrentFnOutput(
            reward=reward.astype(jnp.float32),
            discount=discount.astype(jnp.float32),
            prior_logits=logits,
            value=value.astype(jnp.float32),
        )
        return out, next_state

    return root_fn, recurrent_fn


def run_mctx_search(
    game, apply_fn, budget: SearchBudget, params, states, key, *, max_depth: Optional[int] = None
) -> SearchOutput:
    """mctx's Gumbel MuZero search (`make_mctx_model`) from a batch of game states of a 2-player game.

    ``apply_fn(params, obs[B, *obs_shape]) -> (logits[B, A], values[B, P])`` with values mover-relative;
    the search sees ``values[:, 0]``. Returns a `SearchOutput` (mctx's ``PolicyOutput``): ``action``
    ``[B]``, ``action_weights`` ``[B, A]`` (the improved policy -- the training target) and
    ``legal_overflow`` ``[B]``; over the compact legal list when ``budget.compact`` and the game
    bounds its legal moves (`search_slots`). ``budget.gumbel_scale = 0`` makes the search
    deterministic (arena play). Jit-compatible; ``budget`` and ``max_depth`` are static.
    """
    model = make_mctx_model(game, apply_fn)
    slots = search_slots(game, budget)
    return run_policy(
        mctx.gumbel_muzero_policy, model, budget, params, states, key, num_slots=slots, max_depth=max_depth
    )
