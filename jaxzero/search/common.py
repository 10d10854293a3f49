"""What every search here shares: masks, the end-of-game test, the search budget, the game-as-model
evaluation and the run harness.

All three searches (`jaxzero.search.gumbel`, `jaxzero.search.maxn`, `jaxzero.search.paranoid`) use
the game itself as the model: the tree's embedding is a batch of game states, a transition steps
them, and the network ``apply_fn(params, obs [B, ...]) -> (logits [B, A], values [B, P])`` (values
mover-relative: index 0 = seat to move) evaluates the new states. Their policies share mctx's call
shape, so `run_policy` runs any of them from a batch of states. Knows nothing of any particular game.
"""

from __future__ import annotations

import dataclasses

import chex
import jax
import jax.numpy as jnp
import mctx

# Logit of illegal actions: large and negative but finite (softmax stays NaN-free).
ILLEGAL_LOGIT = -1e9


def mask_logits(logits, legal_action_mask):
    """Logits ``[..., A]`` with illegal actions (``legal_action_mask [..., A]`` False) set to `ILLEGAL_LOGIT`."""
    chex.assert_equal_shape([logits, legal_action_mask])
    return jnp.where(legal_action_mask, logits, ILLEGAL_LOGIT)


def is_done(state):
    """bool ``[...]``: the game of each state has ended (terminated or truncated)."""
    return state.terminated | state.truncated


@dataclasses.dataclass(frozen=True)
class SearchBudget:
    """How much one search may do: simulations per move, actions considered at the root (Gumbel
    top-k), and the scale of the root's Gumbel noise (0 = deterministic, for arena play)."""

    num_simulations: int
    max_num_considered_actions: int
    gumbel_scale: float = 1.0

    def __post_init__(self):
        if self.num_simulations < 1:
            raise ValueError(f"SearchBudget.num_simulations must be >= 1, got {self.num_simulations}")
        if self.max_num_considered_actions < 1:
            raise ValueError(
                f"SearchBudget.max_num_considered_actions must be >= 1, got {self.max_num_considered_actions}"
            )
        if self.gumbel_scale < 0:
            raise ValueError(f"SearchBudget.gumbel_scale must be >= 0, got {self.gumbel_scale}")


def evaluate(game, apply_fn, params, states):
    """The network on a batch of game states: ``(logits [B, A] masked by the legal actions, values [B, P])``."""
    logits, values = apply_fn(params, jax.vmap(game.observe)(states))
    chex.assert_shape(logits, states.legal_action_mask.shape)
    return mask_logits(logits, states.legal_action_mask), values


def step_and_evaluate(game, apply_fn, params, key, action, states):
    """One move in every game (``action [B]``, one key each split from ``key``), then `evaluate` at the
    new states: ``(next_states, logits [B, A], values [B, P])``."""
    chex.assert_rank(action, 1)
    batch = action.shape[0]
    next_states = jax.vmap(game.step)(states, action, jax.random.split(key, batch))
    logits, values = evaluate(game, apply_fn, params, next_states)
    return next_states, logits, values


def run_policy(policy, model, budget: SearchBudget, params, states, key, **options) -> mctx.PolicyOutput:
    """``policy`` (a Gumbel MuZero policy with the call shape of ``mctx.gumbel_muzero_policy``) from a
    batch of game states.

    ``model = (root_fn, recurrent_fn)``: ``root_fn(params, states)`` gives the policy's root,
    ``recurrent_fn`` its transitions. The root's illegal actions (``states.legal_action_mask [B, A]``)
    are the invalid ones; ``options`` go to the policy (e.g. ``max_depth``). Returns the policy's
    ``PolicyOutput``: ``action [B]``, ``action_weights [B, A]`` (the improved policy) and its tree.
    """
    root_fn, recurrent_fn = model
    chex.assert_rank(states.legal_action_mask, 2)
    batch, num_actions = states.legal_action_mask.shape
    root = root_fn(params, states)
    chex.assert_shape(root.prior_logits, (batch, num_actions))
    out = policy(
        params,
        key,
        root,
        recurrent_fn,
        budget.num_simulations,
        invalid_actions=~states.legal_action_mask,
        max_num_considered_actions=budget.max_num_considered_actions,
        gumbel_scale=budget.gumbel_scale,
        **options,
    )
    chex.assert_shape(out.action, (batch,))
    chex.assert_shape(out.action_weights, (batch, num_actions))
    return out
