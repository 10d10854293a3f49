"""What every script shares: loading a config (bare names, variants, dotted overrides), the one error
path for user errors, and `load_best` (a workdir's best net without building a loop).

Config specs: ``configs/sq8.py``, ``sq8.py``, ``sq8`` (bare names resolve in the repository's
``configs/``), each optionally with ``:variant`` (``sq8.py:cpu``), passed to ``get_config(variant)``.
Overrides: ``--config.a.b=value`` (or ``--config.a.b value``), typed like the value they replace.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import difflib
import importlib.util
import inspect
import os
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import ml_collections

from jaxzero import paths

CONFIGS_DIR = paths.REPO_ROOT / "configs"


class UserError(Exception):
    """A mistake in what the user asked for (a config, an argument, a path): one line, no traceback."""


@dataclasses.dataclass(frozen=True)
class ConfigSpec:
    """A resolved ``--config`` value: the file, the variant, and the name runs are filed under."""

    path: Path
    variant: str | None

    @property
    def name(self) -> str:
        """``sq8`` or ``sq8_cpu``: the default workdir is ``runs/<name>``."""
        return self.path.stem + (f"_{self.variant}" if self.variant else "")


def resolve_config(spec: str) -> ConfigSpec:
    """The config file and variant of ``spec`` (see the module docstring); UserError if there is none."""
    text, _, variant = str(spec).partition(":")
    candidates = [Path(text)]
    if Path(text).parent == Path("."):
        candidates += [CONFIGS_DIR / text, CONFIGS_DIR / f"{text}.py"]
    for path in candidates:
        if path.is_file():
            return ConfigSpec(path, variant or None)
    known = ", ".join(sorted(p.stem for p in CONFIGS_DIR.glob("*.py")))
    raise UserError(f"config file not found: {text!r} (looked in . and {CONFIGS_DIR}; known configs: {known})")


def load_config(spec: str | ConfigSpec, overrides: Sequence[str] = ()) -> ml_collections.ConfigDict:
    """The config ``spec`` names, with ``--config.a.b=value`` overrides applied."""
    if not isinstance(spec, ConfigSpec):
        spec = resolve_config(spec)
    module_spec = importlib.util.spec_from_file_location(f"jaxzero_config_{spec.path.stem}", spec.path)
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as e:  # a broken config file is the user's to fix
        raise UserError(f"config {spec.path} failed to load: {type(e).__name__}: {e}") from e
    get_config = getattr(module, "get_config", None)
    if not callable(get_config):
        raise UserError(f"config {spec.path} defines no get_config()")
    takes_variant = len(inspect.signature(get_config).parameters) > 0
    if spec.variant and not takes_variant:
        raise UserError(f"config {spec.path.name} has no variants, got ':{spec.variant}'")
    try:
        cfg = get_config(spec.variant) if takes_variant else get_config()
    except ValueError as e:  # e.g. an unknown variant
        raise UserError(f"config {spec.path.name}: {e}") from e
    for dotted, raw in _pairs(overrides):
        set_override(cfg, dotted, raw)
    return cfg


def _pairs(overrides: Sequence[str]) -> list[tuple[str, str]]:
    """``["--config.a=1", "--config.b", "2"]`` -> ``[("a", "1"), ("b", "2")]``."""
    out, items = [], list(overrides)
    while items:
        item = items.pop(0)
        if not item.startswith("--config."):
            raise UserError(f"unrecognised argument {item!r} (config overrides look like --config.a.b=value)")
        if "=" in item:
            dotted, raw = item[len("--config."):].split("=", 1)
        elif items:
            dotted, raw = item[len("--config."):], items.pop(0)
        else:
            raise UserError(f"{item} needs a value (--config.a.b=value)")
        out.append((dotted, raw))
    return out


def set_override(cfg: ml_collections.ConfigDict, dotted: str, raw: str) -> None:
    """Sets ``cfg.<dotted>`` from the string ``raw``, typed like the value it replaces."""
    node, parts = cfg, dotted.split(".")
    for i, part in enumerate(parts):
        keys = list(node.keys()) if isinstance(node, ml_collections.ConfigDict) else []
        if part not in keys:
            where = "config." + ".".join(parts[:i + 1])
            close = difflib.get_close_matches(part, keys, n=1)
            hint = f"; did you mean {close[0]}?" if close else (f"; settings here: {', '.join(keys)}" if keys else "")
            raise UserError(f"{where} is not a setting{hint}")
        if i < len(parts) - 1:
            node = node[part]
    leaf, old = parts[-1], node[parts[-1]]
    node[leaf] = _typed(raw, old, f"config.{dotted}")


def _typed(raw: str, old: Any, where: str) -> Any:
    if isinstance(old, bool):
        if raw.lower() in ("1", "true", "yes"):
            return True
        if raw.lower() in ("0", "false", "no"):
            return False
        raise UserError(f"{where} is a boolean (true/false), got {raw!r}")
    if isinstance(old, (int, float)):
        try:
            value = float(raw) if isinstance(old, float) else int(raw)
        except ValueError:
            raise UserError(f"{where} is {'a number' if isinstance(old, float) else 'an integer'}, got {raw!r}")
        return value
    if isinstance(old, str):
        return raw
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return raw


def validated(cfg: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """``cfg`` with defaults filled in, checked against its game; a bad value is a UserError naming its key."""
    from jaxzero.config import fill_defaults, validate
    from jaxzero.games.registry import make_game

    cfg = fill_defaults(cfg)
    try:
        validate(cfg)
        validate(cfg, make_game(cfg.game.name))
    except ValueError as e:
        raise UserError(str(e)) from e
    return cfg


def config_parser(description: str, **kwargs) -> argparse.ArgumentParser:
    """An argument parser with ``--config`` (and ``--debug``) that `parse` pairs with its overrides."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter,
                                **kwargs)
    p.add_argument("--config", required=True,
                   help="config: configs/NAME.py, NAME.py or NAME, optionally :variant (e.g. sq8.py:cpu)")
    add_debug(p)
    return p


def add_debug(p: argparse.ArgumentParser) -> None:
    p.add_argument("--debug", action="store_true", help="show the traceback of an error")


def add_distributed(p: argparse.ArgumentParser) -> None:
    """``--coordinator HOST:PORT --num-processes N --process-id I`` (one process of an N-process run)
    and ``--distributed`` (find them on a TPU VM slice, under Slurm or Open MPI); see `start_distributed`."""
    g = p.add_argument_group("several processes (jax.distributed; docs/scaling.md)")
    g.add_argument("--coordinator", default=None, metavar="HOST:PORT",
                   help="address of process 0's coordinator service, the same for every process")
    g.add_argument("--num-processes", "--num_processes", dest="num_processes", type=int, default=None, metavar="N",
                   help="how many processes the run has")
    g.add_argument("--process-id", "--process_id", dest="process_id", type=int, default=None, metavar="I",
                   help="this process's number, 0 .. N-1 (0 writes the run's files)")
    g.add_argument("--distributed", action="store_true",
                   help="join a multi-process run whose coordinator, size and place are found automatically "
                        "(TPU VM slice, Slurm, Open MPI)")


def distributed_settings(args) -> tuple[str, int, int] | str | None:
    """What `add_distributed`'s flags ask for: ``(coordinator, num_processes, process_id)``, ``"auto"``
    (``--distributed``) or None (one process); a UserError naming the inconsistent flags."""
    coordinator, n, i = args.coordinator, args.num_processes, args.process_id
    given = [name for name, v in (("--coordinator", coordinator), ("--num-processes", n), ("--process-id", i))
             if v is not None]
    if args.distributed:
        if given:
            raise UserError(f"--distributed finds the coordinator, process count and id itself; drop {', '.join(given)} "
                            "(or drop --distributed and give all three)")
        return "auto"
    if not given:
        return None
    missing = [name for name in ("--coordinator", "--num-processes", "--process-id") if name not in given]
    if missing:
        raise UserError(f"{', '.join(given)} needs {', '.join(missing)} too (or --distributed to find them on "
                        "a TPU VM slice or under Slurm)")
    if n < 1:
        raise UserError(f"--num-processes must be at least 1, got {n}")
    if not 0 <= i < n:
        raise UserError(f"--process-id must be in [0, {n - 1}] for --num-processes {n}, got {i}")
    host, sep, port = coordinator.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"--coordinator must be HOST:PORT (e.g. host0:1234), got {coordinator!r}")
    return coordinator, n, i


def start_distributed(args) -> bool:
    """Joins the multi-process run `add_distributed`'s flags ask for (`jaxzero.distributed.start`);
    call it before anything touches JAX's devices. False when the run has one process."""
    settings = distributed_settings(args)
    if settings is None or (settings != "auto" and settings[1] == 1):
        return False
    from jaxzero import distributed

    try:
        distributed.start() if settings == "auto" else distributed.start(*settings)
    except (RuntimeError, ValueError) as e:  # e.g. nothing to auto-detect, a coordinator that never answers
        raise UserError(f"could not join the multi-process run: {e}") from e
    return True


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None):
    """``(args, config)``: the parsed arguments and the config with its ``--config.a.b=value`` overrides."""
    args, rest = parser.parse_known_args(argv)
    spec = resolve_config(args.config)
    args.config_spec = spec
    return args, load_config(spec, rest)


def run_main(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Runs a script's ``main``: a `UserError` ends in one line ``error: ...`` and exit code 2
    (``--debug`` shows the traceback)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return main(argv)
    except UserError as e:
        if "--debug" in argv:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2


@dataclasses.dataclass(frozen=True)
class Best:
    """A training workdir's best net."""

    config: ml_collections.ConfigDict  # the run's saved config
    game: Any
    apply_fn: Callable  # ``apply_fn(params, obs) -> (logits, values)``
    params: Any
    iteration: int  # the checkpoint it came from


def load_best(workdir: str | Path, game_name: str | None = None) -> Best:
    """The best net of ``workdir``'s latest checkpoint, restored against the abstract state of its
    own saved config (nothing else is built or compiled). ``game_name``: refuse another game's run.

    ``DIR@bootstrap`` names the net the run's heuristic bootstrap trained (kept as a fixed anchor);
    ``DIR@candidate`` the latest checkpoint's candidate, the net training goes on from (the best
    until a gate promotes it: do the kept candidates get stronger without a promotion?)."""
    import jax

    from jaxzero.checkpoint import Checkpointer, CorruptCheckpointError
    from jaxzero.config import fill_defaults
    from jaxzero.games.registry import make_game
    from jaxzero.loop.state import initial_state
    from jaxzero.nn import make_inference_model, make_model
    from jaxzero.train import make_optimizer

    workdir, _, which = str(workdir).partition("@")
    workdir = Path(workdir)
    if which not in ("", "best", "bootstrap", "candidate"):
        raise UserError(f"unknown net @{which} of {workdir}: use DIR (its best), DIR@bootstrap or DIR@candidate")
    if not (workdir / "checkpoints").is_dir():
        raise UserError(f"{workdir} is not a training workdir (it has no checkpoints/)")
    try:
        ckpt = Checkpointer(workdir / "checkpoints", warn=lambda s: print(s, file=sys.stderr), reject=False)
    except CorruptCheckpointError as e:
        raise UserError(str(e)) from e
    try:
        raw = ckpt.newest_readable_config()
        if raw is None:
            raise UserError(f"no complete checkpoint in {workdir / 'checkpoints'}")
        saved = fill_defaults(ml_collections.ConfigDict(raw))
        if game_name is not None and saved.game.name != game_name:
            raise UserError(f"{workdir} trained {saved.game.name}, not {game_name}")
        game = make_game(saved.game.name)
        model, params0 = make_model(saved.net, game, saved.seed)
        abstract = jax.eval_shape(lambda: initial_state(params0, make_optimizer(saved.train), saved.seed))
        it, state, _, _ = ckpt.restore_latest_verified(abstract, warn=lambda s: print(s, file=sys.stderr),
                                                       reject=False)
    except CorruptCheckpointError as e:
        raise UserError(str(e)) from e
    finally:
        ckpt.close()
    if which == "bootstrap":
        from jaxzero.checkpoint import BOOTSTRAP_NET, restore_params

        if not (workdir / BOOTSTRAP_NET).is_dir():
            raise UserError(f"{workdir} has no bootstrap net (the run did not bootstrap, config.bootstrap)")
        try:
            return Best(saved, game, make_inference_model(saved.net, game).apply,
                        restore_params(workdir / BOOTSTRAP_NET, params0), -1)
        except CorruptCheckpointError as e:
            raise UserError(str(e)) from e
    params = state["best"]
    if which == "candidate":  # the net the gate would judge: the moving average when the run keeps one
        from jaxzero.loop.state import train_state_of
        from jaxzero.train import candidate_params

        params = candidate_params(train_state_of(state))
    return Best(saved, game, make_inference_model(saved.net, game).apply, params, it)


def prepare_workdir(workdir: Path) -> None:
    """Creates ``workdir`` (and its parents); a UserError when it is a file or cannot be written."""
    if workdir.exists() and not workdir.is_dir():
        raise UserError(f"workdir {workdir} is a file, not a directory: pass another --workdir")
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        probe = workdir / f".write-test-{os.uname().nodename}-{os.getpid()}"  # processes of a run may share it
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise UserError(f"workdir {workdir} cannot be written ({e.strerror}): pass another --workdir") from e


def default_workdir(spec: ConfigSpec) -> Path:
    """``runs/<config>[_<variant>]`` under the current directory."""
    return Path("runs") / spec.name
