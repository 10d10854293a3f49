"""Fixed-capacity replay buffer on device: a ring buffer of positions with policy/value targets.

Pure functions over a fixed-shape pytree; `add` overwrites the oldest positions once full and
`sample` draws a uniform minibatch from the filled part.

Rows are stored compactly (`Stored`): the policy target as K ``(action id, probability)`` slots
(K = ``policy_slots``, a bound on the legal actions of a position: a target is non-zero only on
legal moves) and the legal mask bit-packed along the action axis. `add` compacts on the way in;
`sample` and `rows` expand to dense `Batch` rows (policy ``[N, A]`` f32, legal ``bool[N, A]``), so
readers see the same shapes as with a dense buffer. A target with more than K non-zero entries keeps
its K largest (ties to the lower id); the probability mass dropped so is summed in
``ReplayBuffer.policy_dropped`` (zero whenever K bounds the legal count, as for RingRift).
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
from flax import struct

from jaxzero.games.outcomes import rotate_to_mover

# `Batch.source`: who chose the position's move (a search, or a network-free player such as the heuristic)
SOURCE_SEARCH, SOURCE_HEURISTIC = 0, 1


@struct.dataclass
class Batch:
    """Training examples, leading axis N."""

    obs: jax.Array  # [N, *obs_shape]
    policy: jax.Array  # [N, A]: improved-policy target
    value: jax.Array  # [N, P]: mover-relative outcome target
    value_mask: jax.Array  # bool[N]: value target present
    legal: jax.Array  # bool[N, A]
    # provenance (optional when building a Batch by hand; `add` fills search / policy target / id -1)
    source: jax.Array = None  # int8[N]: SOURCE_SEARCH (0) or SOURCE_HEURISTIC (1)
    policy_mask: jax.Array = None  # bool[N]: policy target present (heuristic moves give none by default)
    game_id: jax.Array = None  # int32[N]: self-play game the position comes from
    mover: jax.Array = None  # int32[N]: seat to move (value targets are rotated to it)
    # float32[N]: a search's value of the position seen by its mover (NaN: none; `add` fills NaN when absent)
    search_value: jax.Array = None


@struct.dataclass
class Stored:
    """The buffer's rows in compact form, leading axis C (capacity); fields as in `Batch` except the
    policy target (``policy_ids``/``policy_probs``: K slots) and the legal mask (``legal_bits``)."""

    obs: jax.Array  # [C, *obs_shape] f32
    policy_ids: jax.Array  # int16/int32[C, K]: action ids of the slots
    policy_probs: jax.Array  # f32[C, K]: target probability of each slot's action
    value: jax.Array  # [C, P]
    value_mask: jax.Array  # bool[C]
    legal_bits: jax.Array  # uint8[C, ceil(A/8)]: jnp.packbits of the legal mask along the action axis
    source: jax.Array  # int8[C]
    policy_mask: jax.Array  # bool[C]
    game_id: jax.Array  # int32[C]
    mover: jax.Array  # int32[C]
    search_value: jax.Array  # f32[C]


@struct.dataclass
class ReplayBuffer:
    data: Stored  # capacity rows
    ptr: jax.Array  # int32: next row to write
    size: jax.Array  # int32: rows filled
    policy_dropped: jax.Array  # f32: policy-target mass dropped by `add` (rows with more than K non-zeros)
    num_actions: int = struct.field(pytree_node=False, default=0)  # A

    @property
    def capacity(self) -> int:
        return self.data.obs.shape[0]

    @property
    def policy_slots(self) -> int:
        return self.data.policy_ids.shape[1]


def _id_dtype(num_actions: int):
    return jnp.int16 if num_actions < 32768 else jnp.int32


def init_buffer(capacity: int, observation_shape, num_actions: int, num_players: int,
                policy_slots: int | None = None) -> ReplayBuffer:
    """An empty buffer of ``capacity`` positions whose policy targets keep ``policy_slots`` (K) entries
    each (default and at most ``num_actions``: every entry). Pass K = the most legal actions a position
    of the game has (`jaxzero.search.common.max_legal_actions`) for an exact, compact buffer."""
    k = num_actions if policy_slots is None else min(int(policy_slots), num_actions)
    data = Stored(
        obs=jnp.zeros((capacity, *observation_shape), jnp.float32),
        policy_ids=jnp.zeros((capacity, k), _id_dtype(num_actions)),
        policy_probs=jnp.zeros((capacity, k), jnp.float32),
        value=jnp.zeros((capacity, num_players), jnp.float32),
        value_mask=jnp.zeros((capacity,), bool),
        legal_bits=jnp.zeros((capacity, -(-num_actions // 8)), jnp.uint8),
        source=jnp.zeros((capacity,), jnp.int8),
        policy_mask=jnp.zeros((capacity,), bool),
        game_id=jnp.full((capacity,), -1, jnp.int32),
        mover=jnp.zeros((capacity,), jnp.int32),
        search_value=jnp.full((capacity,), jnp.nan, jnp.float32),
    )
    return ReplayBuffer(data=data, ptr=jnp.zeros((), jnp.int32), size=jnp.zeros((), jnp.int32),
                        policy_dropped=jnp.zeros((), jnp.float32), num_actions=num_actions)


def complete(batch: Batch) -> Batch:
    """Fills missing provenance fields: search positions with a policy target, game id -1, mover 0, no
    search value (NaN)."""
    n = batch.policy.shape[0]
    return batch.replace(
        source=jnp.zeros((n,), jnp.int8) if batch.source is None else batch.source,
        policy_mask=jnp.ones((n,), bool) if batch.policy_mask is None else batch.policy_mask,
        game_id=jnp.full((n,), -1, jnp.int32) if batch.game_id is None else batch.game_id,
        mover=jnp.zeros((n,), jnp.int32) if batch.mover is None else batch.mover,
        search_value=jnp.full((n,), jnp.nan, jnp.float32) if batch.search_value is None else batch.search_value,
    )


def compact_policy(policy, policy_slots: int):
    """``(ids, probs, dropped)`` of dense targets ``policy f32[N, A]``: the K = ``policy_slots`` largest
    entries of each row (ties to the lower id; all A ids in order when K = A) as ids ``int[N, K]`` and
    their probabilities ``f32[N, K]``, and ``dropped f32[N]``: the mass of the row outside them (exactly
    0 unless the row has more than K non-zero entries)."""
    n, a = policy.shape
    policy = policy.astype(jnp.float32)
    if policy_slots >= a:
        ids = jnp.broadcast_to(jnp.arange(a, dtype=jnp.int32), (n, a))
        return ids, policy, jnp.zeros((n,), jnp.float32)
    probs, ids = jax.lax.top_k(policy, policy_slots)
    over = jnp.sum(policy != 0, axis=-1) > policy_slots
    dropped = jnp.where(over, jnp.sum(policy, -1) - jnp.sum(probs, -1), 0.0)
    return ids, probs, dropped


def expand_policy(ids, probs, num_actions: int):
    """Dense targets ``f32[N, A]`` from K slots: ``probs[n, k]`` at action ``ids[n, k]``, zero elsewhere."""
    n = ids.shape[0]
    out = jnp.zeros((n, num_actions), jnp.float32)
    return out.at[jnp.arange(n)[:, None], ids.astype(jnp.int32)].add(probs.astype(jnp.float32))


def _compact(batch: Batch, buffer: ReplayBuffer):
    """``(Stored rows, dropped mass)`` of a complete dense ``batch`` for ``buffer``'s layout."""
    ids, probs, dropped = compact_policy(batch.policy, buffer.policy_slots)
    rows = Stored(obs=batch.obs, policy_ids=ids, policy_probs=probs, value=batch.value,
                  value_mask=batch.value_mask, legal_bits=jnp.packbits(batch.legal.astype(bool), axis=-1),
                  source=batch.source, policy_mask=batch.policy_mask, game_id=batch.game_id, mover=batch.mover,
                  search_value=batch.search_value)
    return rows, jnp.sum(dropped)


def _expand(stored: Stored, num_actions: int) -> Batch:
    """Dense `Batch` rows of compact ``stored`` rows."""
    legal = jnp.unpackbits(stored.legal_bits, axis=-1, count=num_actions).astype(bool)
    return Batch(obs=stored.obs, policy=expand_policy(stored.policy_ids, stored.policy_probs, num_actions),
                 value=stored.value, value_mask=stored.value_mask, legal=legal, source=stored.source,
                 policy_mask=stored.policy_mask, game_id=stored.game_id, mover=stored.mover,
                 search_value=stored.search_value)


@jax.jit
def add(buffer: ReplayBuffer, batch: Batch) -> ReplayBuffer:
    """Writes the N positions of ``batch`` at the ring pointer, wrapping around (the newest win if N > capacity).

    Rows are compacted on the way in (K policy slots, packed legal bits); the policy mass a row loses
    to the K slots (only a row with more than K non-zero entries loses any) adds to ``policy_dropped``."""
    cap, a = buffer.capacity, buffer.num_actions
    n = batch.policy.shape[0]
    batch = complete(batch)
    chex.assert_equal_shape_suffix([buffer.data.obs, batch.obs], batch.obs.ndim - 1)
    chex.assert_shape([batch.policy, batch.legal], (n, a))
    chex.assert_shape(batch.value_mask, (n,))
    if n > cap:  # static shapes: keep the newest `cap`
        batch = jax.tree.map(lambda x: x[n - cap :], batch)
        n = cap
    rows, dropped = _compact(batch, buffer)
    idx = (buffer.ptr + jnp.arange(n)) % cap
    data = jax.tree.map(lambda d, x: d.at[idx].set(x.astype(d.dtype)), buffer.data, rows)
    return buffer.replace(data=data, ptr=(buffer.ptr + n) % cap, size=jnp.minimum(buffer.size + n, cap),
                          policy_dropped=buffer.policy_dropped + dropped)


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


def rows(buffer: ReplayBuffer, idx) -> Batch:
    """The buffer rows ``idx int[M]`` as a dense `Batch` (policy ``f32[M, A]``, legal ``bool[M, A]``)."""
    m = idx.shape[0]
    out = _expand(jax.tree.map(lambda d: d[idx], buffer.data), buffer.num_actions)
    chex.assert_shape([out.policy, out.legal], (m, buffer.num_actions))
    return out


rows = jax.jit(rows)


def sample(buffer: ReplayBuffer, key, batch_size: int) -> Batch:
    """A uniform minibatch of ``batch_size`` positions (with replacement) from the filled rows, dense."""
    idx = jax.random.randint(key, (batch_size,), 0, jnp.maximum(buffer.size, 1))
    out = _expand(jax.tree.map(lambda d: d[idx], buffer.data), buffer.num_actions)
    chex.assert_shape([out.policy, out.legal], (batch_size, buffer.num_actions))
    return out


sample = jax.jit(sample, static_argnames="batch_size")
