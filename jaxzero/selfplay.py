"""Batched self-play: B games advanced together under one jit, auto-reset, outcome targets.

One move of all B game slots is one search call over the batch axis; ``lax.scan`` runs a chunk of
moves. Each step records (obs, improved-policy target, mover, legal mask, game id, done, truncated,
cumulative seat returns). `value_targets` then walks the window backwards (reverse scan) giving every
position the final outcome of its game, rotated so index 0 is the player to move there. Positions of
games that are still running at the end of the window, or that were truncated, get no value target
(``value_mask = False``); they still carry a policy target.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import chex
import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxzero.search.maxn import make_search_fn_of_kind


@struct.dataclass
class Slots:
    """The B running games: game states plus per-game bookkeeping."""

    state: Any  # batched game state
    moves: jax.Array  # int32[B]: moves played in the current game
    returns: jax.Array  # float32[B, P]: summed seat rewards of the current game
    game_id: jax.Array  # int32[B]: unique id of the current game (slot b runs games b, b+B, b+2B, ...)


@struct.dataclass
class Trajectory:
    """What self-play records, time-major ``[T, B, ...]``."""

    obs: jax.Array  # [T, B, *obs_shape]: the mover's observation
    policy: jax.Array  # [T, B, A]: improved policy (mctx action_weights)
    mover: jax.Array  # int32[T, B]: seat to move
    legal: jax.Array  # bool[T, B, A]
    game_id: jax.Array  # int32[T, B]
    valid: jax.Array  # bool[T, B]: a real position (a live game)
    done: jax.Array  # bool[T, B]: the move made here ended the game
    truncated: jax.Array  # bool[T, B]: ... by truncation (no outcome)
    returns: jax.Array  # float32[T, B, P]: seat returns of the game so far, after this move


def rank_outcome(returns):
    """Outcome per seat from final seat returns ``[..., P]``: winner +1, last -1, linear between, ties averaged.

    For two players this is +1 / -1 for a win / loss and 0 for a draw.
    """
    p = returns.shape[-1]
    if p == 1:
        return jnp.sign(returns)
    ri = returns[..., :, None]
    rj = returns[..., None, :]
    better = jnp.sum(rj > ri, axis=-1)
    tied = jnp.sum(rj == ri, axis=-1) - 1
    return 1.0 - 2.0 * (better + 0.5 * tied) / (p - 1)


def rotate_to_mover(seat_values, mover):
    """``out[..., k] = seat_values[..., (mover + k) % P]``: index 0 becomes the mover's value."""
    p = seat_values.shape[-1]
    idx = (mover[..., None] + jnp.arange(p)) % p
    return jnp.take_along_axis(seat_values, idx, axis=-1)


def init_slots(game, batch_size: int, key) -> Slots:
    """B fresh games."""
    state = jax.vmap(game.init)(jax.random.split(key, batch_size))
    return Slots(
        state=state,
        moves=jnp.zeros((batch_size,), jnp.int32),
        returns=jnp.zeros((batch_size, game.num_players), jnp.float32),
        game_id=jnp.arange(batch_size, dtype=jnp.int32),
    )


def _select(pred, on_true, on_false):
    """Per-slot ``where`` over two batched pytrees (pred: bool[B])."""

    def pick(a, b):
        return jnp.where(pred.reshape(pred.shape + (1,) * (a.ndim - 1)), a, b)

    return jax.tree.map(pick, on_true, on_false)


def sample_with_temperature(key, weights, legal, temperature):
    """One action per row drawn from ``weights ** (1 / temperature)`` over legal actions."""
    logits = jnp.log(jnp.maximum(weights, 1e-12)) / temperature
    logits = jnp.where(legal, logits, -jnp.inf)
    return jax.random.categorical(key, logits, axis=-1).astype(jnp.int32)


@dataclasses.dataclass(frozen=True)
class SelfPlay:
    """Self-play for one game, network and search budget; `play` is jitted over a chunk of moves."""

    game: Any
    apply_fn: Any
    num_simulations: int
    max_num_considered_actions: int
    gumbel_scale: float = 1.0
    temperature: float = 1.0
    temperature_moves: int = 0
    max_moves: int = 512
    search: str = "auto"  # jaxzero.search.maxn.SEARCH_KINDS; "auto" = mctx for 2 players, max^n for 3-4

    def __post_init__(self):
        search = make_search_fn_of_kind(
            self.search,
            self.game,
            self.apply_fn,
            num_simulations=self.num_simulations,
            max_num_considered_actions=self.max_num_considered_actions,
            gumbel_scale=self.gumbel_scale,
        )
        object.__setattr__(self, "_search", search)
        object.__setattr__(self, "play", jax.jit(self._play, static_argnames="num_steps"))

    def _move(self, params, slots: Slots, key):
        game = self.game
        batch = slots.moves.shape[0]
        k_search, k_sample, k_step, k_reset = jax.random.split(key, 4)
        gs = slots.state
        out = self._search(params, gs, k_search)
        weights = out.action_weights
        sampled = sample_with_temperature(k_sample, weights, gs.legal_action_mask, self.temperature)
        action = jnp.where(slots.moves < self.temperature_moves, sampled, out.action)
        live = ~(gs.terminated | gs.truncated)
        nxt = jax.vmap(game.step)(gs, action, jax.random.split(k_step, batch))
        returns = slots.returns + nxt.rewards
        moves = slots.moves + 1
        terminated = nxt.terminated
        truncated = ~terminated & (nxt.truncated | (moves >= self.max_moves))
        done = terminated | truncated
        record = Trajectory(
            obs=jax.vmap(game.observe)(gs),
            policy=weights,
            mover=gs.current_player.astype(jnp.int32),
            legal=gs.legal_action_mask,
            game_id=slots.game_id,
            valid=live,
            done=done,
            truncated=truncated,
            returns=returns,
        )
        fresh = jax.vmap(game.init)(jax.random.split(k_reset, batch))
        slots = Slots(
            state=_select(done, fresh, nxt),
            moves=jnp.where(done, 0, moves),
            returns=jnp.where(done[:, None], 0.0, returns),
            game_id=jnp.where(done, slots.game_id + batch, slots.game_id),
        )
        return slots, record

    def _play(self, params, slots: Slots, key, num_steps: int):
        """Advances all B game slots by ``num_steps`` moves (jitted as ``play``): (slots, Trajectory[T=num_steps, B])."""
        chex.assert_rank(slots.moves, 1)
        def body(carry, k):
            return self._move(params, carry, k)

        slots, traj = jax.lax.scan(body, slots, jax.random.split(key, num_steps))
        chex.assert_shape(traj.policy, (num_steps, slots.moves.shape[0], self.game.num_actions))
        return slots, traj

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other


@jax.jit
def value_targets(traj: Trajectory):
    """Mover-relative value targets ``[T, B, P]`` and their mask ``[T, B]`` for a trajectory window.

    A reverse scan carries, per slot, the outcome of the game that ends next in time; a position gets
    it when that game is its own (no game boundary in between). Positions of games unfinished at the
    window's end, or truncated, are masked out (never scored as draws).
    """
    t, b = traj.done.shape
    p = traj.returns.shape[-1]
    chex.assert_shape(traj.returns, (t, b, p))

    def back(carry, x):
        outcome, has = carry
        done, truncated, returns = x
        outcome = jnp.where(done[:, None], rank_outcome(returns), outcome)
        has = jnp.where(done, ~truncated, has)
        return (outcome, has), (outcome, has)

    init = (jnp.zeros((b, p), jnp.float32), jnp.zeros((b,), bool))
    _, (outcome, has) = jax.lax.scan(back, init, (traj.done, traj.truncated, traj.returns), reverse=True)
    values = rotate_to_mover(outcome, traj.mover)
    return values, has & traj.valid


def concat_trajectories(chunks):
    """Joins chunk trajectories along time."""
    return jax.tree.map(lambda *xs: jnp.concatenate(xs, axis=0), *chunks)


def batch_mesh(devices=None):
    """A 1-D device mesh with axis ``"batch"`` (the game batch axis)."""
    from jax.sharding import Mesh

    return Mesh(np.array(list(devices if devices is not None else jax.devices())), ("batch",))


def shard_batch(tree, mesh):
    """Places a batched pytree (leading axis = game batch) split over ``mesh``'s ``"batch"`` axis."""
    from jax.sharding import NamedSharding, PartitionSpec

    n = mesh.devices.size
    batch = jax.tree.leaves(tree)[0].shape[0]
    if batch % n:
        raise ValueError(f"game batch {batch} does not split over {n} devices")
    return jax.tree.map(lambda x: jax.device_put(x, NamedSharding(mesh, PartitionSpec("batch"))), tree)


def sharded_play(selfplay: SelfPlay, mesh):
    """``play(params, slots, key, num_steps)`` run data-parallel with `jax.shard_map` over the game batch.

    Each device advances its own slice of the game slots with no cross-device communication (params
    replicated, each shard's key folded with its index); outputs stay sharded along the batch axis
    (``Trajectory`` leaves ``[T, B, ...]`` on axis 1).
    """
    from functools import partial

    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    def per_shard(params, slots, key, num_steps):
        key = jax.random.fold_in(key, jax.lax.axis_index("batch"))
        return selfplay._play(params, slots, key, num_steps)

    replicated = NamedSharding(mesh, P())

    @partial(jax.jit, static_argnames="num_steps")
    def jitted(params, slots, key, num_steps: int):
        fn = jax.shard_map(
            partial(per_shard, num_steps=num_steps),
            mesh=mesh,
            in_specs=(P(), P("batch"), P()),
            out_specs=(P("batch"), P(None, "batch")),
            check_vma=False,  # pgx/mctx loops carry unvarying values; shards never communicate
        )
        return fn(params, slots, key)

    def play(params, slots, key, num_steps: int):
        # params / key may be committed to one device (after training or a restore): replicate them
        params, key = jax.device_put((params, key), replicated)
        return jitted(params, slots, key, num_steps=num_steps)

    play._cache_size = jitted._cache_size
    return play
