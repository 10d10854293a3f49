"""The vector-valued (per-seat) model that the multi-player searches consume, and its game adapter.

`jaxzero.search.maxn` backs the vectors up as they are (max^n); `jaxzero.search.paranoid` reduces
them to one scalar for mctx. Conventions (see docs/search.md):

* Values and rewards are vectors over **absolute seats** ``[..., P]``: component ``s`` is what
  seat ``s`` gets. A mover-relative network value is rotated into absolute seats by `to_absolute`.
* The model says who moves at every node: ``to_play`` ``[B]`` int32.
* ``reward`` ``[B, P]`` is the per-seat reward of the transition into the new node; ``discount``
  ``[B]`` is 1 normally, 0 at a terminal state (no sign flips, ever).

`make_maxn_model` adapts anything that follows the `jaxzero.games.protocol.Game` interface.
"""

from __future__ import annotations

from typing import Any

import chex
import jax.numpy as jnp

from jaxzero.search.common import evaluate, is_done, step_and_evaluate


@chex.dataclass(frozen=True)
class MaxnRootFnOutput:
    """Model output at the root.

    prior_logits: ``[B, A]`` policy logits of the player to move.
    value: ``[B, P]`` value of every seat (absolute seats).
    embedding: ``[B, ...]`` whatever ``recurrent_fn`` consumes.
    to_play: ``[B]`` int32, the seat to move at the root.
    """

    prior_logits: chex.Array
    value: chex.Array
    embedding: Any
    to_play: chex.Array


@chex.dataclass(frozen=True)
class MaxnRecurrentFnOutput:
    """Model output for one transition ``(state, action) -> next state``.

    reward: ``[B, P]`` reward of every seat for this transition.
    discount: ``[B]`` 1 normally, 0 when the next state is terminal.
    prior_logits: ``[B, A]`` logits of the player to move at the next state (illegal actions low).
    value: ``[B, P]`` value of every seat at the next state (0 at a terminal state).
    to_play: ``[B]`` int32, the seat to move at the next state.
    """

    reward: chex.Array
    discount: chex.Array
    prior_logits: chex.Array
    value: chex.Array
    to_play: chex.Array


def to_absolute(relative_values, to_play):
    """Mover-relative values ``[..., P]`` (index 0 = seat to move) -> absolute seats.

    ``out[s] = rel[(s - to_play) % P]``; the inverse of `jaxzero.games.outcomes.rotate_to_mover`.
    """
    chex.assert_shape(to_play, relative_values.shape[:-1])
    p = relative_values.shape[-1]
    idx = (jnp.arange(p) - to_play[..., None]) % p
    return jnp.take_along_axis(relative_values, idx, axis=-1)


def make_maxn_model(game, apply_fn):
    """``(root_fn, recurrent_fn)`` for `jaxzero.search.maxn.maxn_gumbel_muzero_policy` (and the
    paranoid policy) with the game itself as the model.

    ``apply_fn(params, obs [B, ...]) -> (logits [B, A], values [B, P])`` with mover-relative values
    (index 0 = seat to move), as everywhere in jaxzero. ``root_fn(params, states) ->
    MaxnRootFnOutput`` (embedding = the batch of game states). The recurrent reward is the game's
    per-seat ``rewards`` of the step (0 past an already finished state), the discount 0 at a
    terminal state, the value 0 there.
    """

    def root_fn(params, states):
        logits, values = evaluate(game, apply_fn, params, states)
        to_play = states.current_player.astype(jnp.int32)
        return MaxnRootFnOutput(
            prior_logits=logits.astype(jnp.float32),
            value=to_absolute(values, to_play).astype(jnp.float32),
            embedding=states,
            to_play=to_play,
        )

    def recurrent_fn(params, key, action, state):
        prev_done = is_done(state)
        next_state, logits, values = step_and_evaluate(game, apply_fn, params, key, action, state)
        done = is_done(next_state)
        to_play = next_state.current_player.astype(jnp.int32)
        reward = jnp.where(prev_done[:, None], 0.0, next_state.rewards)
        value = jnp.where(done[:, None], 0.0, to_absolute(values, to_play))
        out = MaxnRecurrentFnOutput(
            reward=reward.astype(jnp.float32),
            discount=jnp.where(done, 0.0, 1.0).astype(jnp.float32),
            prior_logits=logits.astype(jnp.float32),
            value=value.astype(jnp.float32),
            to_play=to_play,
        )
        return out, next_state

    return root_fn, recurrent_fn
