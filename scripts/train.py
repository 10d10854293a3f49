"""Train with the closed self-play loop.

    python scripts/train.py --config sq8.py:cpu [--config.train.learning_rate=1e-3 ...] [--workdir DIR]
    python scripts/train.py ... --coordinator host0:1234 --num-processes 2 --process-id 0   (and 1 on host1)

``--config`` takes a file (configs/connect4.py) or a bare name resolved in configs/ (sq8, sq8.py),
optionally with a variant (:tiny, :cpu). ``--workdir`` defaults to runs/<config>[_<variant>].
Running the same command again resumes after the last complete iteration. Several processes (one per
host, `--coordinator/--num-processes/--process-id` or `--distributed`): docs/scaling.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jaxzero import cli, paths  # noqa: E402


def main(argv=None) -> int:
    parser = cli.config_parser(__doc__)
    parser.add_argument("--workdir", default=None, help="checkpoints, metrics.jsonl, TensorBoard events "
                        "(default: runs/<config>[_<variant>])")
    parser.add_argument("--no_progress", "--no-progress", action="store_true", help="hide the progress bars")
    cli.add_distributed(parser)
    args, cfg = cli.parse(parser, argv)
    # several processes: joined before anything touches JAX's devices (validation counts them)
    cli.start_distributed(args)
    cfg = cli.validated(cfg)
    workdir = Path(args.workdir) if args.workdir else cli.default_workdir(args.config_spec)
    print(f"config {args.config_spec.path} (variant {args.config_spec.variant or 'none'}), workdir {workdir}",
          flush=True)
    from jaxzero import mesh

    # the devices each global batch is split over, and each device's share (config.mesh)
    print(mesh.describe(cfg, mesh.num_devices(cfg.mesh.devices)), flush=True)
    import absl.logging

    absl.logging.set_verbosity(absl.logging.WARNING)  # orbax logs every save step at INFO
    paths.enable_compilation_cache()
    cli.prepare_workdir(workdir)
    from jaxzero import loop
    from jaxzero.checkpoint import ConfigMismatchError, CorruptCheckpointError
    from jaxzero.loop.workdir import WorkdirBusyError

    try:
        loop.run(cfg, workdir, progress=not args.no_progress)
    except (ConfigMismatchError, WorkdirBusyError) as e:
        raise cli.UserError(str(e)) from e
    except (FloatingPointError, CorruptCheckpointError) as e:  # the run failed; what was saved stays
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_main(main))
