"""Checkpoints with orbax's `CheckpointManager`: one step per completed iteration.

Each step holds three items: ``state`` (candidate params, optimizer state, best params, iteration,
train step, RNG key data), ``config`` (the full config as JSON) and ``metrics`` (that iteration's
metrics). Orbax writes a step to a temporary directory and renames it only when complete, so a
process killed mid-save leaves the previous steps intact and the half-written one invisible.

Restores use an abstract target (shapes/dtypes/tree structure of freshly initialised state), so the
optimizer state comes back with its optax types. A checkpoint whose identity keys (game, network
shape) differ from the current config is refused before anything is written.
"""

from __future__ import annotations

import os
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp

from jaxzero.config import identity_mismatches


class ConfigMismatchError(ValueError):
    """The checkpoint directory was written under an incompatible config."""


class Checkpointer:
    """Saves and restores loop state under ``<workdir>/checkpoints``."""

    def __init__(self, directory: str | os.PathLike, max_to_keep: int = 3):
        self.directory = Path(directory).absolute()
        options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True, cleanup_tmp_directories=True)
        self.manager = ocp.CheckpointManager(self.directory, options=options, item_names=("state", "config", "metrics"))

    def latest_iteration(self) -> int | None:
        """The last completely saved iteration, or None."""
        return self.manager.latest_step()

    def all_iterations(self) -> list[int]:
        return list(self.manager.all_steps())

    def saved_config(self, iteration: int | None = None) -> dict:
        step = self.latest_iteration() if iteration is None else iteration
        out = self.manager.restore(step, args=ocp.args.Composite(config=ocp.args.JsonRestore()))
        return out.config

    def check_config(self, current_config: dict) -> None:
        """Raises `ConfigMismatchError` naming every mismatched key if the saved config is incompatible."""
        if self.latest_iteration() is None:
            return
        bad = identity_mismatches(self.saved_config(), current_config)
        if bad:
            raise ConfigMismatchError(
                f"checkpoint in {self.directory} was written with a different config; mismatched keys "
                f"(saved -> current): {'; '.join(bad)}. Use another --workdir or the original config."
            )

    def save(self, iteration: int, state: dict, config: dict, metrics: dict) -> None:
        """Saves one iteration and blocks until it is committed on disk."""
        self.manager.save(
            iteration,
            args=ocp.args.Composite(
                state=ocp.args.StandardSave(state),
                config=ocp.args.JsonSave(config),
                metrics=ocp.args.JsonSave(metrics),
            ),
        )
        self.manager.wait_until_finished()

    def restore(self, iteration: int, abstract_state: dict) -> tuple[dict, dict, dict]:
        """(state, config, metrics) of ``iteration``; ``abstract_state`` gives the target tree (e.g. via jax.eval_shape).

        The state's arrays come back like freshly created ones (default device, not committed to
        it): orbax returns arrays committed to a device, and jit caches key on that, so a resumed
        loop would otherwise retrace and recompile every function it had already compiled.
        """
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, abstract_state)
        out = self.manager.restore(
            iteration,
            args=ocp.args.Composite(
                state=ocp.args.StandardRestore(abstract),
                config=ocp.args.JsonRestore(),
                metrics=ocp.args.JsonRestore(),
            ),
        )
        state = jax.tree.map(lambda x: jnp.asarray(np.asarray(x)), out.state)
        return state, out.config, out.metrics

    def close(self) -> None:
        self.manager.wait_until_finished()
        self.manager.close()


def install_debug_pause_in_save(iteration: int) -> None:
    """Fault injection for the kill/resume test: stall the background writer of ``iteration``'s save.

    After the metrics item of that iteration is written into orbax's temporary directory (and
    before the step is committed), prints ``DEBUG_PAUSE save <iteration>`` and sleeps, so a test
    can SIGKILL the process in the middle of a checkpoint save. Enabled only via
    ``JAXZERO_DEBUG_PAUSE=save:<iteration>`` (see `jaxzero.loop`).
    """
    import time

    handler = ocp.handlers.JsonCheckpointHandler
    original = handler._save_fn

    async def paused_save_fn(self, x, directory):
        await original(self, x, directory)
        if isinstance(x, dict) and x.get("iteration") == iteration and "arena/score" in x:
            print(f"DEBUG_PAUSE save {iteration}", flush=True)
            time.sleep(3600)

    handler._save_fn = paused_save_fn
