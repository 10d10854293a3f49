"""Several processes, one run: thin helpers over ``jax.distributed`` (one process per host).

A multi-process run starts every process with the same command line, each told its place (or finding
it itself on a TPU VM slice or under Slurm). `start` must run before anything else touches JAX's
devices. After it, ``jax.devices()`` lists every process's devices and the run's mesh spans them
all (`jaxzero.mesh`); every process runs the same program on its own devices, and only process 0
writes the run's files (`is_main`).

With one process (no `start`, or ``num_processes=1``) every helper here is a no-op: `is_main` is
true, `barrier` returns at once, `agree` returns its value, `gather` is ``np.asarray``.
"""

from __future__ import annotations

import zlib

import jax
import numpy as np


class DistributedError(RuntimeError):
    """The processes of a run disagree (a different config, command or checkpoint)."""


def start(coordinator: str | None = None, num_processes: int | None = None, process_id: int | None = None) -> None:
    """Joins this process to a multi-process run (``jax.distributed.initialize``).

    ``coordinator`` (``HOST:PORT``, served by process 0), ``num_processes`` and ``process_id`` all
    given: an explicit run. All None: auto-detection (TPU VM slice, Slurm, Open MPI), as
    ``jax.distributed.initialize()`` does with no arguments. On a CPU backend the processes'
    collectives go through gloo (``jax_cpu_collectives_implementation``). Must be called before any
    JAX computation or device query; ``num_processes=1`` starts nothing."""
    explicit = (coordinator, num_processes, process_id)
    if any(x is not None for x in explicit) and any(x is None for x in explicit):
        raise ValueError("start needs coordinator, num_processes and process_id together (or none: auto-detect)")
    if num_processes is not None:
        if num_processes < 1:
            raise ValueError(f"num_processes must be at least 1, got {num_processes}")
        if not 0 <= process_id < num_processes:
            raise ValueError(f"process_id must be in [0, {num_processes}), got {process_id}")
        if num_processes == 1:
            return
    # CPU devices of different processes reach each other only through a cross-process collectives
    # library; it has to be chosen before the CPU backend is created (it does not affect GPU / TPU)
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    if num_processes is None:
        jax.distributed.initialize()
    else:
        jax.distributed.initialize(coordinator_address=coordinator, num_processes=num_processes,
                                   process_id=process_id)


def is_main() -> bool:
    """True in process 0 (the one that writes the run's files), and always with one process."""
    return jax.process_index() == 0


def barrier(name: str) -> None:
    """Waits until every process reaches the barrier ``name`` (the same name everywhere); no-op with one process."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)


def agree(value, what: str = "value"):
    """``value`` after checking that every process holds the same (a string, number or array): raises
    `DistributedError` naming ``what`` otherwise. One process: ``value`` unchanged. Strings are compared
    by their CRC-32 and length (collectives move fixed-shape arrays)."""
    if jax.process_count() == 1:
        return value
    from jax.experimental import multihost_utils

    if isinstance(value, str):
        data = value.encode()
        mine = np.array([zlib.crc32(data), len(data)], np.uint32)
    else:
        mine = np.asarray(value)
    shapes = multihost_utils.process_allgather(np.array(mine.shape + (0,) * (8 - mine.ndim), np.int64))
    if not (shapes == shapes[0]).all():
        raise DistributedError(f"process {jax.process_index()}'s {what} has another shape than process 0's")
    first = multihost_utils.broadcast_one_to_all(mine)
    if not np.array_equal(np.asarray(first), mine):
        raise DistributedError(f"process {jax.process_index()}'s {what} differs from process 0's: every process "
                               "must run the same command on the same files")
    return value


def from_main(value):
    """Process 0's ``value`` (a bool or number) in every process: a decision from files that process 0
    may be changing while the others look (one process: ``value``)."""
    if jax.process_count() == 1:
        return value
    from jax.experimental import multihost_utils

    return type(value)(np.asarray(multihost_utils.broadcast_one_to_all(np.asarray(value))).item())


def gather(tree):
    """A pytree of arrays as NumPy on this host, whole: leaves split over other processes' devices are
    gathered (``process_allgather``, every process must call it); local or replicated ones are read."""

    def one(x):
        if isinstance(x, jax.Array) and not x.is_fully_addressable and not x.is_fully_replicated:
            from jax.experimental import multihost_utils

            return multihost_utils.process_allgather(x, tiled=True)
        return np.asarray(x)

    return jax.tree.map(one, tree)


def global_arrays(tree):
    """Several processes: every leaf this process holds whole (NumPy, or a jax.Array on its own devices,
    the same value in every process) as a jax.Array replicated over every process's devices, the form
    orbax saves collectively; leaves already spread over the processes stay. One process: ``tree``."""
    if jax.process_count() == 1:
        return tree
    from jaxzero import mesh as mesh_lib

    everywhere = mesh_lib.replicated(mesh_lib.data_mesh(0))  # the run's mesh: every device of every process

    def one(x):
        spread = isinstance(x, jax.Array) and not x.is_fully_addressable
        return x if spread else mesh_lib.place(x, everywhere)

    return jax.tree.map(one, tree)
