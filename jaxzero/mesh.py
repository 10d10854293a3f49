"""The one device mesh of a run: a 1-D mesh over the devices with axis ``"data"``, built from the config.

Data parallelism: every batched pytree whose leading (or named) axis is a batch of games or
positions is placed split over ``"data"`` (`shard_batch`), and so are the replay buffer's rows
(`shard_rows`: each device holds ``capacity / n`` of them); params, optimizer state and keys are
replicated (`replicate`). Games (self-play, the arena's matches) run under
``jax.shard_map`` (`shard_games`): each device plays its share alone, with no collective, which
needs every random draw keyed per game (`game_keys`) and every search or player called per game
(`per_game`: mctx draws its noise for a whole batch from one key). The train step is jitted with
input and output shardings and partitioned by the compiler (GSPMD): the gradient of a loss averaged
over a sharded batch becomes an all-reduce it inserts (no hand-written ``psum``). Either way a run
on N devices gives the results of one device with the same global batch, up to float summation
order; `count_collectives` reads a compiled program's collectives (tests/test_mesh.py).

One device is the mesh of one device: the same code path. ``config.mesh.devices`` picks how many
of ``jax.devices()`` the mesh spans (0: all). In a multi-process run (`jaxzero.distributed`)
``jax.devices()`` lists every process's devices and the mesh spans them all; host data goes onto it
through `place`, which each process fills for its own devices. Every global batch size must divide by that count
(`check_divisible`, called by `jaxzero.config.validate`).
"""

from __future__ import annotations

import re

import chex
import jax
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

DATA = "data"  # the one mesh axis: the batch of games (self-play, arena) or positions (training)


def num_devices(devices: int = 0) -> int:
    """Devices the mesh spans for ``config.mesh.devices = devices`` (0: all of ``jax.devices()``)."""
    available = jax.device_count()
    if devices < 0 or devices > available:
        raise ValueError(f"config.mesh.devices must be in [0, {available}] (0: all {available} devices), got {devices}")
    if jax.process_count() > 1 and devices not in (0, available):
        # a mesh over some of the devices would leave processes without a device of the run
        raise ValueError(f"config.mesh.devices must be 0 (all {available} devices of the {jax.process_count()} "
                         f"processes) in a multi-process run, got {devices}")
    return devices or available


def data_mesh(devices: int = 0) -> Mesh:
    """A 1-D mesh with axis ``"data"`` over the first ``devices`` of ``jax.devices()`` (0: all)."""
    n = num_devices(devices)
    return jax.make_mesh((n,), (DATA,), axis_types=(AxisType.Auto,), devices=jax.devices()[:n])


def mesh_from_config(cfg) -> Mesh:
    """The run's mesh (``config.mesh.devices``)."""
    return data_mesh(int(cfg.mesh.devices))


def data_sharding(mesh: Mesh, axis: int = 0) -> NamedSharding:
    """Arrays split over ``"data"`` along ``axis`` (leading axes before it replicated)."""
    return NamedSharding(mesh, P(*([None] * axis), DATA))


def replicated(mesh: Mesh) -> NamedSharding:
    """Arrays held whole by every device of ``mesh``."""
    return NamedSharding(mesh, P())


def mesh_size(mesh: Mesh) -> int:
    return int(np.prod(mesh.devices.shape))


def check_batch(name: str, batch: int, mesh: Mesh) -> None:
    """Raises ValueError naming ``name`` unless ``batch`` splits evenly over the mesh's devices."""
    n = mesh_size(mesh)
    if batch % n:
        raise ValueError(f"{name} ({batch}) must be divisible by the {n} devices of the mesh")


def shard_batch(tree, mesh: Mesh, axis: int = 0):
    """Places a batched pytree (every leaf's ``axis`` = the batch, divisible by the device count) split
    over ``"data"``; already placed leaves are not copied. Several processes: see `place`."""
    leaves = jax.tree.leaves(tree)
    if leaves:
        check_batch("the batch axis", leaves[0].shape[axis], mesh)
    return place(tree, data_sharding(mesh, axis))


def shard_rows(tree, mesh: Mesh):
    """Places a table of rows (the replay buffer): every leaf with an axis 0 split over ``"data"`` along
    it (each device holds its share of the rows; the length must divide by the device count), 0-d
    leaves (counters) whole on every device; already placed leaves are not copied. A jitted function
    that indexes the rows with global indices gets the values one device would (the compiler
    gathers a row from the device that holds it). Several processes: see `place`."""

    def one(x):
        if np.ndim(x) == 0:
            return place(x, replicated(mesh))
        check_batch("the rows of a table", np.shape(x)[0], mesh)
        return place(x, data_sharding(mesh))

    return jax.tree.map(one, tree)


def replicate(tree, mesh: Mesh):
    """Places every leaf of ``tree`` whole on each device of ``mesh`` (a no-op for leaves already so).
    Several processes: see `place`."""
    return place(tree, replicated(mesh))


def place(tree, sharding: NamedSharding):
    """Every leaf of ``tree`` placed with ``sharding``. One process: ``jax.device_put``. Several
    processes (a mesh over every process's devices): a process can only fill its own devices, so a
    leaf this process holds whole (a NumPy array, or a jax.Array on its own devices) must be the same
    value in every process (every process computes the same host data from the same seed); each
    process then places its own devices' parts of it (``jax.make_array_from_callback``). Leaves
    already spread over the processes are resharded."""
    if jax.process_count() == 1:
        return jax.device_put(tree, sharding)
    return jax.tree.map(lambda x: _place_leaf(x, sharding), tree)


def _place_leaf(x, sharding: NamedSharding):
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        return jax.device_put(x, sharding)
    if isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
        impl = jax.random.key_impl(x)
        return jax.random.wrap_key_data(_place_leaf(jax.random.key_data(x), sharding), impl=impl)
    host = np.asarray(x)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def constrain_batch(tree, mesh: Mesh, axis: int = 0):
    """Inside jit: asks that every leaf of ``tree`` be split over ``"data"`` along ``axis``."""
    return jax.lax.with_sharding_constraint(tree, data_sharding(mesh, axis))


def game_keys(key, index):
    """``key[B]``: one PRNG key per game, ``fold_in(key, index[b])`` for the games' global indices
    ``index int32[B]`` (a slot's game id, a match's game number). A game's draws come from its own key,
    so they do not depend on how the batch is split over devices."""
    chex.assert_rank(index, 1)
    return jax.vmap(jax.random.fold_in, in_axes=(None, 0))(key, index)


def per_game(fn):
    """``fn(states, key, *rest) -> batched outputs`` (a batched search or player: every output leaf's
    axis 0 is the batch) called on each game alone: ``(states [B], keys [B], *rest) -> outputs [B]``,
    a ``jax.vmap`` over games of a batch-of-one call with that game's key (``rest`` is shared).

    A batched search or player draws its random numbers for the whole batch from one key (mctx's
    Gumbel noise, a random player's choices), so a game's draws would depend on its batch. Called per
    game they depend only on its key: a shard of games gives the results those games get in the
    whole batch, and no batch-level step (a gather over the batch, a loop running until every game
    is done) couples the games.
    """

    def call(states, keys, *rest):
        def one(state, key):
            out = fn(jax.tree.map(lambda x: x[None], state), key, *rest)
            return jax.tree.map(lambda x: x[0], out)

        return jax.vmap(one)(states, keys)

    return call


def shard_games(fn, mesh, in_specs, out_specs):
    """``fn`` run on each device's share of the games under ``jax.shard_map`` over ``mesh``'s
    ``"data"`` axis (``in_specs``/``out_specs``: `BATCH` for arrays split by game, `WHOLE` for params
    and keys). ``fn`` must be per game (`per_game`, `game_keys`): then each shard runs without any
    cross-device communication and the results are those of one device; a mesh of one device is
    the same code path. ``mesh`` None: ``fn`` itself."""
    if mesh is None:
        return fn
    # check_vma off: mctx's loops start their carries from constants, which the varying-axis type
    # check would have to be told about inside third-party code; every output here is per game
    # (BATCH) or computed from whole inputs alone (WHOLE: a match's move counter and key)
    return jax.shard_map(fn, mesh=mesh, in_specs=in_specs, out_specs=out_specs, check_vma=False)


BATCH = P(DATA)  # shard_map spec: split over the games (axis 0)
WHOLE = P()  # shard_map spec: the same on every device


COLLECTIVES = ("all-gather", "all-reduce", "collective-permute", "all-to-all", "reduce-scatter")


def count_collectives(hlo_text: str) -> dict[str, int]:
    """``{op: count}`` of the cross-device collective ops in a compiled program's HLO text
    (``jitted.lower(...).compile().as_text()``); async pairs count once (their ``-start``)."""
    counts = {}
    for op in COLLECTIVES:
        counts[op] = len(re.findall(rf"\s{op}(?:-start)?\(", hlo_text))
    return counts


def global_batches(cfg) -> list[tuple[str, int]]:
    """``[(setting, global size)]`` of every batch the loop splits over the mesh: self-play games,
    train positions, the replay buffer's rows, the bootstrap's games and every match's games (settings
    that are 0 play nothing)."""
    out = [("selfplay.batch_size", cfg.selfplay.batch_size), ("train.batch_size", cfg.train.batch_size),
           ("replay.capacity", cfg.replay.capacity),  # the replay buffer's rows
           ("arena.num_games", cfg.arena.num_games), ("arena.vs_random_games", cfg.arena.vs_random_games)]
    if cfg.bootstrap.num_steps > 0:
        out.append(("bootstrap.batch_size", cfg.bootstrap.batch_size))
    if cfg.elo.enabled:
        out += [(f"elo.{k}", cfg.elo[k]) for k in ("heuristic_games", "num_games", "anchor_games", "bootstrap_games")
                if cfg.elo[k] > 0]
    return out


def check_divisible(cfg, devices: int) -> None:
    """Raises ValueError naming the first global batch setting that does not divide by ``devices``."""
    for name, size in global_batches(cfg):
        if size % devices:
            raise ValueError(
                f"config.{name} ({size}) must be divisible by the device count ({devices}: config.mesh.devices="
                f"{cfg.mesh.devices}, {jax.device_count()} devices visible); set it to a multiple of {devices} "
                "or use fewer devices with --config.mesh.devices")


def describe(cfg, devices: int) -> str:
    """One line: the mesh and each global batch's per-device share (one device: nothing is split)."""
    kind = jax.devices()[0].platform
    if devices == 1:
        return f"mesh: 1 {kind} device on axis '{DATA}' (batches are not split)"
    shares = ", ".join(f"{name} {size} -> {size // devices}" for name, size in global_batches(cfg))
    return f"mesh: {devices} {kind} device(s) on axis '{DATA}'; per device: {shares}"
