"""Gumbel MuZero search with the real game as the model (mctx).

The tree's "model" is the game itself: ``recurrent_fn`` steps the env and evaluates the network.
Rewards and values are from the point of view of the player to move at the parent node, so the
discount is -1 when the player to move changes, +1 when the same player moves again, and 0 at a
terminal state. This module knows nothing of any particular game beyond the `Game` protocol.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import mctx

# Logit for illegal actions: large and negative but finite (softmax stays NaN-free).
ILLEGAL_LOGIT = -1e9


def mask_logits(logits, legal_action_mask):
    """Logits with illegal actions set to `ILLEGAL_LOGIT`."""
    return jnp.where(legal_action_mask, logits, ILLEGAL_LOGIT)


def _done(state):
    return state.terminated | state.truncated


def make_recurrent_fn(game, apply_fn):
    """``recurrent_fn(params, key, action, embedding)`` for mctx, where the embedding is a batch of game states."""

    def recurrent_fn(params, key, action, state):
        batch = action.shape[0]
        prev_player = state.current_player
        prev_done = _done(state)
        keys = jax.random.split(key, batch)
        next_state = jax.vmap(game.step)(state, action, keys)
        obs = jax.vmap(game.observe)(next_state)
        logits, values = apply_fn(params, obs)
        done = _done(next_state)
        # Reward of the player who just moved; nothing past an already finished state.
        reward = jnp.take_along_axis(next_state.rewards, prev_player[:, None], axis=1)[:, 0]
        reward = jnp.where(prev_done, 0.0, reward)
        same_player = next_state.current_player == prev_player
        discount = jnp.where(done, 0.0, jnp.where(same_player, 1.0, -1.0))
        value = jnp.where(done, 0.0, values[:, 0])
        out = mctx.RecurrentFnOutput(
            reward=reward.astype(jnp.float32),
            discount=discount.astype(jnp.float32),
            prior_logits=mask_logits(logits, next_state.legal_action_mask),
            value=value.astype(jnp.float32),
        )
        return out, next_state

    return recurrent_fn


def run_search(
    apply_fn,
    params,
    game,
    states,
    key,
    *,
    num_simulations: int,
    max_num_considered_actions: int,
    gumbel_scale: float = 1.0,
) -> mctx.PolicyOutput:
    """Gumbel MuZero search from a batch of game states.

    ``apply_fn(params, obs[B, *obs_shape]) -> (logits[B, A], values[B, P])`` with values mover-relative;
    the search sees ``values[:, 0]``. Returns mctx's ``PolicyOutput``: ``action`` ``[B]`` and
    ``action_weights`` ``[B, A]`` (the improved policy -- the training target). ``gumbel_scale = 0``
    makes the search deterministic (arena play). Jit-compatible; ``num_simulations`` and
    ``max_num_considered_actions`` must be static.
    """
    obs = jax.vmap(game.observe)(states)
    batch = obs.shape[0]
    chex.assert_shape(states.legal_action_mask, (batch, game.num_actions))
    logits, values = apply_fn(params, obs)
    root = mctx.RootFnOutput(
        prior_logits=mask_logits(logits, states.legal_action_mask),
        value=values[:, 0],
        embedding=states,
    )
    out = mctx.gumbel_muzero_policy(
        params=params,
        rng_key=key,
        root=root,
        recurrent_fn=make_recurrent_fn(game, apply_fn),
        num_simulations=num_simulations,
        invalid_actions=~states.legal_action_mask,
        max_num_considered_actions=max_num_considered_actions,
        gumbel_scale=gumbel_scale,
    )
    chex.assert_shape(out.action, (batch,))
    chex.assert_shape(out.action_weights, (batch, game.num_actions))
    return out


def make_search_fn(game, apply_fn, *, num_simulations, max_num_considered_actions, gumbel_scale):
    """`run_search` with the search settings bound: ``search(params, states, key) -> PolicyOutput``."""

    def search(params, states, key):
        return run_search(
            apply_fn,
            params,
            game,
            states,
            key,
            num_simulations=num_simulations,
            max_num_considered_actions=max_num_considered_actions,
            gumbel_scale=gumbel_scale,
        )

    return search
