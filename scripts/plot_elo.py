"""Draws the Elo curves of several runs of one game into one PNG.

    python scripts/plot_elo.py OUT.png WORKDIR [WORKDIR ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jaxzero import cli  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", help="the PNG to write")
    parser.add_argument("workdirs", nargs="+", help="training workdirs (each with metrics.jsonl)")
    cli.add_debug(parser)
    args = parser.parse_args(argv)
    from jaxzero.elo import plot_elo, read_metrics

    missing = [d for d in args.workdirs if not (Path(d) / "metrics.jsonl").is_file()]
    if missing:
        raise cli.UserError(f"no metrics.jsonl in {', '.join(missing)}")
    drawn = plot_elo({Path(d).name: read_metrics(d) for d in args.workdirs}, args.out)
    print(f"elo plot: {args.out} curves={len(drawn)}")
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_main(main))
