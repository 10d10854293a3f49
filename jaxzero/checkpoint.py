"""Checkpoints with orbax's `CheckpointManager`: one step per completed iteration.

Each step holds the items ``state`` (candidate params, optimizer state, best params, iteration,
train step, RNG key data), ``config`` (the full config as JSON) and ``metrics`` (that iteration's
metrics), and ``integrity``, ``resume``, ``resume_info`` (below). Orbax writes a step to a temporary directory and renames it only when complete, so a
process killed mid-save leaves the previous steps intact and the half-written one invisible.

Restores use an abstract target (shapes/dtypes/tree structure of freshly initialised state), so the
optimizer state comes back with its optax types. A checkpoint whose identity keys (game, network
shape) differ from the current config is refused before anything is written.

Each step also holds ``integrity``: a SHA-256 digest of the saved state's arrays (paths, dtypes,
shapes, bytes). A restore recomputes it, so a data file that was overwritten, truncated or
zero-filled is found even where orbax would read it without complaint; `restore_latest_verified`
then falls back to the newest step that verifies and moves the bad ones aside (into
``<workdir>/checkpoints_rejected/``: nothing is deleted, and rotation never removes a good step in
favour of a bad one).

For an exact resume a step also holds ``resume`` and ``resume_info`` (`save`'s ``resume``): the
arrays the loop carries from one iteration to the next besides the state (replay buffer, running
game slots, earlier bests), saved as the flat list of their leaves, and a JSON record (host-side
loop state and a signature of the arrays' paths, dtypes and shapes). Their digest is saved with the
state's. `resume_latest_verified` reads them only when their signature matches the current
config's (a changed buffer capacity or slot count, or a step saved before they existed, resumes
without them: the caller is told why).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp

from jaxzero import distributed
from jaxzero.config import identity_mismatches


class ConfigMismatchError(ValueError):
    """The checkpoint directory was written under an incompatible config."""


class CorruptCheckpointError(RuntimeError):
    """A checkpoint step cannot be read, or its state does not match the digest saved with it."""


def state_digest(state) -> str:
    """SHA-256 over a pytree's leaves: key paths, dtypes, shapes and bytes."""
    h = hashlib.sha256()
    for path, leaf in jax.tree_util.tree_flatten_with_path(state)[0]:
        x = np.asarray(leaf)
        h.update(f"{jax.tree_util.keystr(path)}|{x.dtype}|{x.shape}|".encode())
        h.update(np.ascontiguousarray(x).tobytes())
    return h.hexdigest()


def tree_signature(tree) -> str:
    """SHA-256 over a pytree's leaf key paths, dtypes and shapes (arrays or ShapeDtypeStructs)."""
    h = hashlib.sha256()
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        h.update(f"{jax.tree_util.keystr(path)}|{np.dtype(leaf.dtype)}|{tuple(leaf.shape)}\n".encode())
    return h.hexdigest()


def _resume_digest(arrays, info: dict) -> str:
    """The digest of a step's resume arrays together with its JSON record (``info`` less its digest)."""
    record = np.frombuffer(json.dumps(info, sort_keys=True).encode(), np.uint8)
    return state_digest({"arrays": arrays, "info": record})


def _json_reads(step_dir: Path) -> bool:
    """Whether a step directory's metrics item (if it has one) is valid JSON."""
    f = step_dir / "metrics" / "metrics"
    if not f.is_file():
        return True
    try:
        json.loads(f.read_text())
        return True
    except (ValueError, OSError):
        return False


class Checkpointer:
    """Saves and restores loop state under ``<workdir>/checkpoints``."""

    def __init__(self, directory: str | os.PathLike, max_to_keep: int = 3, warn=print, reject: bool = True):
        self.directory = Path(directory).absolute()
        torn = []
        if self.directory.is_dir():
            # orbax's manager reads every step's "metrics" item when it opens the directory, and a torn
            # one stops it there: such steps are found first (and set aside when ``reject``)
            torn = [int(p.name) for p in self.directory.iterdir() if p.name.isdigit() and not _json_reads(p)]
            for it in sorted(torn):
                warn(f"WARNING: checkpoint of iteration {it} has an unreadable metrics item; falling back to an "
                     "older checkpoint")
            if torn and not reject:
                raise CorruptCheckpointError(f"checkpoints {sorted(torn)} in {self.directory} have unreadable "
                                             "metrics items")
        # outside the test: with several processes, another may create the directory while this one looks
        self._move_aside(torn)
        # a reader (reject=False: the arena, bench, serving) leaves the directory as it found it: a
        # temporary directory there may be the save in flight of a run that is training now
        options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True, cleanup_tmp_directories=reject)
        self.manager = ocp.CheckpointManager(self.directory, options=options,
                                             item_names=("state", "config", "metrics", "integrity", "resume",
                                                         "resume_info"))

    def latest_iteration(self) -> int | None:
        """The last completely saved iteration, or None."""
        return self.manager.latest_step()

    def all_iterations(self) -> list[int]:
        return list(self.manager.all_steps())

    def saved_config(self, iteration: int | None = None) -> dict:
        step = self.latest_iteration() if iteration is None else iteration
        out = self.manager.restore(step, args=ocp.args.Composite(config=ocp.args.JsonRestore()))
        return out.config

    def newest_readable_config(self) -> dict | None:
        """The config saved with the newest step whose config item reads (a damaged step is skipped:
        the restore finds and sets it aside), or None without steps."""
        for it in sorted(self.all_iterations(), reverse=True):
            try:
                return self.saved_config(it)
            except Exception:  # noqa: BLE001 (orbax raises many kinds for damaged files)
                continue
        return None

    def check_config(self, current_config: dict) -> None:
        """Raises `ConfigMismatchError` naming every mismatched key if the saved config is incompatible."""
        saved = self.newest_readable_config()
        if saved is None:
            return
        bad = identity_mismatches(saved, current_config)
        if bad:
            raise ConfigMismatchError(
                f"checkpoint in {self.directory} was written with a different config; mismatched keys "
                f"(saved -> current): {'; '.join(bad)}. Use another --workdir or the original config."
            )

    def save(self, iteration: int, state: dict, config: dict, metrics: dict, resume=None) -> None:
        """Saves one iteration and blocks until it is committed on disk. ``resume``: optional
        ``(arrays, info)``, the pytree and the JSON dict an exact resume needs besides ``state``
        (see the module docstring; `resume_latest_verified` gives them back)."""
        # several processes: orbax saves arrays spread over all of them (process 0 writes the JSON items)
        state = distributed.global_arrays(state)
        items = dict(state=ocp.args.StandardSave(state), config=ocp.args.JsonSave(config),
                     metrics=ocp.args.JsonSave(metrics))
        integrity = {"state_sha256": state_digest(state)}
        if resume is not None:
            arrays, info = resume
            info = dict(info, signature=tree_signature(arrays))
            items["resume"] = ocp.args.StandardSave(distributed.global_arrays(jax.tree.leaves(arrays)))
            items["resume_info"] = ocp.args.JsonSave(info)
            integrity["resume_sha256"] = _resume_digest(arrays, info)
        items["integrity"] = ocp.args.JsonSave(integrity)
        self.manager.save(iteration, args=ocp.args.Composite(**items))
        self.manager.wait_until_finished()

    def restore(self, iteration: int, abstract_state: dict) -> tuple[dict, dict, dict]:
        """(state, config, metrics) of ``iteration``; ``abstract_state`` gives the target tree (e.g. via jax.eval_shape).

        Raises `CorruptCheckpointError` when the step cannot be read or its state does not match
        its saved digest (steps saved before digests existed are read unchecked).

        The state's arrays come back like freshly created ones (default device, not committed to
        it): orbax returns arrays committed to a device, and jit caches key on that, so a resumed
        loop would otherwise retrace and recompile every function it had already compiled.
        """
        return self._read(iteration, abstract_state)[:3]

    def _read(self, iteration: int, abstract_state: dict, resume_target=None):
        """``(state, config, metrics, resume)``: `restore`, plus with ``resume_target`` (``info ->
        abstract arrays``) the step's resume arrays as ``(arrays, info)``, or a sentence saying why
        it has none that fit."""
        step_dir = self.directory / str(iteration)
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, abstract_state)
        items = dict(state=ocp.args.StandardRestore(abstract), config=ocp.args.JsonRestore(),
                     metrics=ocp.args.JsonRestore())
        checked = (step_dir / "integrity").is_dir()
        if checked:
            items["integrity"] = ocp.args.JsonRestore()
        has_resume = resume_target is not None and (step_dir / "resume").is_dir()
        if has_resume:
            items["resume_info"] = ocp.args.JsonRestore()
        out = self._restore_items(iteration, items)
        state = jax.tree.map(lambda x: jnp.asarray(np.asarray(x)), out.state)
        if checked and out.integrity.get("state_sha256") != state_digest(state):
            raise CorruptCheckpointError(f"checkpoint of iteration {iteration} does not match its saved digest "
                                         "(a data file was changed after it was written)")
        resume = None
        if resume_target is not None:
            resume = (self._read_resume(iteration, out.resume_info, resume_target, out.integrity) if has_resume
                      else f"checkpoint of iteration {iteration} holds no replay buffer and game slots (saved "
                           "before they were checkpointed)")
        return state, out.config, out.metrics, resume

    def _restore_items(self, iteration: int, items: dict):
        try:
            return self.manager.restore(iteration, args=ocp.args.Composite(**items))
        except Exception as e:  # orbax/tensorstore raise many kinds for damaged files
            first = str(e).strip().splitlines()[0][:200] if str(e).strip() else ""
            raise CorruptCheckpointError(f"checkpoint of iteration {iteration} cannot be read "
                                         f"({type(e).__name__}: {first})") from e

    def _read_resume(self, iteration: int, info: dict, resume_target, integrity: dict):
        """``(arrays, info)`` of a step's resume item, or why they do not fit ``resume_target(info)``."""
        target = resume_target(info)
        if tree_signature(target) != info.get("signature"):
            return (f"the replay buffer and game slots saved with iteration {iteration} have other shapes than "
                    "this config's (replay.capacity or selfplay.batch_size changed)")
        treedef = jax.tree.structure(target)
        leaves = [ocp.utils.to_shape_dtype_struct(x) for x in jax.tree.leaves(target)]
        out = self._restore_items(iteration, dict(resume=ocp.args.StandardRestore(leaves)))
        arrays = jax.tree.unflatten(treedef, [jnp.asarray(np.asarray(x)) for x in out.resume])
        if integrity.get("resume_sha256") != _resume_digest(arrays, info):
            raise CorruptCheckpointError(f"checkpoint of iteration {iteration} does not match its saved digest "
                                         "(a resume data file was changed after it was written)")
        return arrays, info

    def restore_latest_verified(self, abstract_state: dict, warn=print, reject: bool = True):
        """``(iteration, state, config, metrics)`` of the newest step that reads and verifies, or None
        when there is no step. Each bad newer step gets one ``warn`` line and is moved aside into
        ``checkpoints_rejected/`` (``reject=False``: left in place, for readers such as the arena);
        with no good step left, `CorruptCheckpointError` is raised."""
        found = self._latest_verified(lambda it: self._read(it, abstract_state)[:3], warn, reject)
        return None if found is None else (found[0], *found[1])

    def resume_latest_verified(self, abstract_state: dict, resume_target, warn=print, reject: bool = True):
        """`restore_latest_verified` (bad steps set aside) for a resuming loop: ``(iteration, state,
        config, metrics, resume)``, or None without steps. ``resume_target(info)`` gives the abstract
        tree of the resume arrays for the step's JSON record; ``resume`` is ``(arrays, info)``, or a
        sentence saying why the step has none that fit (then the resume is not exact). A step whose
        resume arrays fail their digest is bad like one whose state does (``reject=False``: left in place,
        for readers)."""
        found = self._latest_verified(lambda it: self._read(it, abstract_state, resume_target), warn, reject)
        return None if found is None else (found[0], *found[1])

    def _latest_verified(self, read, warn, reject: bool):
        """``(iteration, read(iteration))`` of the newest step that reads (see `restore_latest_verified`)."""
        bad = []
        for it in sorted(self.all_iterations(), reverse=True):
            try:
                got = read(it)
            except CorruptCheckpointError as e:
                warn(f"WARNING: {e}; falling back to an older checkpoint")
                bad.append(it)
                continue
            if reject:
                self._reject(bad)
            return it, got
        if bad:
            raise CorruptCheckpointError(f"no checkpoint in {self.directory} can be read; the bad steps "
                                         f"{sorted(bad)} are left in place")
        return None

    def _reject(self, iterations) -> None:
        """Moves steps aside (not deleted) so the run continues from an older one."""
        if iterations:
            self._move_aside(iterations)
            self.manager.reload()

    def _move_aside(self, iterations) -> None:
        # several processes (one directory): process 0 moves, and every process waits until it has
        if not distributed.agree(len(iterations), "count of unreadable checkpoints"):
            return
        if distributed.is_main():
            self._move_aside_here(iterations)
        distributed.barrier("jaxzero-checkpoints-set-aside")

    def _move_aside_here(self, iterations) -> None:
        aside = self.directory.parent / "checkpoints_rejected"
        aside.mkdir(exist_ok=True)
        for it in iterations:
            target = aside / str(it)
            n = 0
            while target.exists():
                n += 1
                target = aside / f"{it}.{n}"
            shutil.move(str(self.directory / str(it)), str(target))

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


BOOTSTRAP_NET = "bootstrap_net"  # <workdir>/bootstrap_net: the net the heuristic bootstrap trained
# <workdir>/bootstrap_state: a `Checkpointer` directory whose one step (0) holds the loop's state right after the
# bootstrap, so that a run stopped before its first checkpoint does not play and train the bootstrap again
BOOTSTRAP_STATE = "bootstrap_state"


def save_params(directory: str | os.PathLike, params) -> None:
    """Saves one params tree on its own (e.g. the bootstrap net, a fixed anchor) and waits until it is
    committed; an existing save at ``directory`` is kept (these nets never change)."""
    directory = Path(directory).absolute()
    # several processes save collectively: all of them skip, or none (process 0's view decides)
    if distributed.from_main(directory.exists()):
        return
    ckptr = ocp.StandardCheckpointer()
    ckptr.save(directory, params)
    ckptr.wait_until_finished()
    ckptr.close()


def restore_params(directory: str | os.PathLike, abstract_params):
    """The params tree saved by `save_params`, restored against ``abstract_params`` (same structure)."""
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, abstract_params)
    ckptr = ocp.StandardCheckpointer()
    try:
        out = ckptr.restore(Path(directory).absolute(), abstract)
    except Exception as e:  # noqa: BLE001 (orbax raises many kinds for damaged files)
        raise CorruptCheckpointError(f"{directory} cannot be read ({type(e).__name__})") from e
    finally:
        ckptr.close()
    return jax.tree.map(lambda x: jnp.asarray(np.asarray(x)), out)

