"""Fixed-capacity replay buffer on device: a ring buffer of positions with policy/value targets.

Pure functions over a fixed-shape pytree; `add` overwrites the oldest positions once full and
`sample` draws a uniform minibatch from the filled part.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
from flax import struct

from jaxzero.games.outcomes import rotate_to_mover


@struct.dataclass
class Batch:
    """Training examples, leading axis N."""

    obs: jax.Array  # [N, *obs_shape]
    policy: jax.Array  # [N, A]: improved-policy target
    value: jax.Array  # [N, P]: mover-relative outcome target
    value_mask: jax.Array  # bool[N]: value target present
    legal: jax.Array  # bool[N, A]
    # provenance (optional when building a Batch by hand; `add` fills search / policy target / id -1)
    source: jax.Array = None  # int8[N]: selfplay.SOURCE_SEARCH (0) or SOURCE_HEURISTIC (1)
    policy_mask: jax.Array = None  # bool[N]: policy target present (heuristic moves give none by default)
    game_id: jax.Array = None  # int32[N]: self-play game the position comes from
    mover: jax.Array = None  # int32[N]: seat to move (value targets are rotated to it)


@struct.dataclass
class ReplayBuffer:
    data: Batch  # capacity rows
    ptr: jax.Array  # int32: next row to write
    size: jax.Array  # int32: rows filled

    @property
    def capacity(self) -> int:
        return self.data.policy.shape[0]


def init_buffer(capacity: int, observation_shape, num_actions: int, num_players: int) -> ReplayBuffer:
    """An empty buffer of ``capacity`` positions."""
    data = Batch(
        obs=jnp.zeros((capacity, *observation_shape), jnp.float32),
        policy=jnp.zeros((capacity, num_actions), jnp.float32),
        value=jnp.zeros((capacity, num_players), jnp.float32),
        value_mask=jnp.zeros((capacity,), bool),
        legal=jnp.zeros((capacity, num_actions), bool),
        source=jnp.zeros((capacity,), jnp.int8),
        policy_mask=jnp.zeros((capacity,), bool),
        game_id=jnp.full((capacity,), -1, jnp.int32),
        mover=jnp.zeros((capacity,), jnp.int32),
    )
    return ReplayBuffer(data=data, ptr=jnp.zeros((), jnp.int32), size=jnp.zeros((), jnp.int32))


def complete(batch: Batch) -> Batch:
    """Fills missing provenance fields: search positions with a policy target, game id -1, mover 0."""
    n = batch.policy.shape[0]
    return batch.replace(
        source=jnp.zeros((n,), jnp.int8) if batch.source is None else batch.source,
        policy_mask=jnp.ones((n,), bool) if batch.policy_mask is None else batch.policy_mask,
        game_id=jnp.full((n,), -1, jnp.int32) if batch.game_id is None else batch.game_id,
        mover=jnp.zeros((n,), jnp.int32) if batch.mover is None else batch.mover,
    )


@jax.jit
def add(buffer: ReplayBuffer, batch: Batch) -> ReplayBuffer:
    """Writes the N positions of ``batch`` at the ring pointer, wrapping around (the newest win if N > capacity)."""
    cap = buffer.capacity
    n = batch.policy.shape[0]
    batch = complete(batch)
    chex.assert_equal_shape_suffix([buffer.data.obs, batch.obs], batch.obs.ndim - 1)
    chex.assert_shape(batch.value_mask, (n,))
    if n > cap:  # static shapes: keep the newest `cap`
        batch = jax.tree.map(lambda x: x[n - cap :], batch)
        n = cap
    idx = (buffer.ptr + jnp.arange(n)) % cap
    data = jax.tree.map(lambda d, x: d.at[idx].set(x.astype(d.dtype)), buffer.data, batch)
    return ReplayBuffer(data=data, ptr=(buffer.ptr + n) % cap, size=jnp.minimum(buffer.size + n, cap))


@jax.jit
def label_finished(buffer: ReplayBuffer, game_ids, seat_outcomes):
    """Value targets for positions whose game ended after they entered the buffer: ``(buffer, labelled)``.

    ``game_ids int32[M]`` (-1 = no game) and ``seat_outcomes float32[M, P]`` are games that ended
    (`jaxzero.selfplay.finished_games`); every filled row without a value target whose ``game_id``
    is among them gets its game's outcome rotated to the row's mover. ``labelled``: rows filled in.
    """
    m = game_ids.shape[0]
    p = buffer.data.value.shape[1]
    chex.assert_shape(seat_outcomes, (m, p))
    order = jnp.argsort(game_ids)
    ids, outcomes = game_ids[order], seat_outcomes[order]
    d = buffer.data
    pos = jnp.clip(jnp.searchsorted(ids, d.game_id), 0, m - 1)
    filled = jnp.arange(buffer.capacity) < buffer.size
    hit = filled & ~d.value_mask & (d.game_id >= 0) & (ids[pos] == d.game_id)
    value = rotate_to_mover(outcomes[pos], d.mover)
    data = d.replace(value=jnp.where(hit[:, None], value, d.value), value_mask=d.value_mask | hit)
    return buffer.replace(data=data), jnp.sum(hit)


def sample(buffer: ReplayBuffer, key, batch_size: int) -> Batch:
    """A uniform minibatch of ``batch_size`` positions (with replacement) from the filled rows."""
    idx = jax.random.randint(key, (batch_size,), 0, jnp.maximum(buffer.size, 1))
    out = jax.tree.map(lambda d: d[idx], buffer.data)
    chex.assert_shape(out.policy, (batch_size, buffer.data.policy.shape[1]))
    return out


sample = jax.jit(sample, static_argnames="batch_size")
