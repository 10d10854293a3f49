#!/usr/bin/env python
"""Replays RingRift reference traces through the jaxzero engine and reports parity.

    python scripts/parity.py ../shared/ringrift/traces/square8_*p.jsonl.gz
    python scripts/parity.py --canonical --max-games 20 ../shared/ringrift/traces/square8_2p.jsonl.gz

Default (reference_compat) mode: every step's legal set and post-move digest must equal
the trace's (recovery moves compared on `recovery A>B MODE [optK]`, see FORMAT.md
quirks). Exit status 0 only if there is no mismatched step. `divergent_steps` counts the
steps we deliberately play differently (listed in docs/rules-decisions.md).
--canonical replays with the canonical rules and classifies every difference by the
reference-departure class (A1, A2, V1/V2, F1; '?' = unexplained).
The last line is always
    parity: games=G matched=M steps=S mismatched_steps=X divergent_steps=D
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jaxzero import cli, paths  # noqa: E402


def status_markdown(reports, canonical: bool, per_file: int = 12) -> str:
    lines = [f"# Parity status ({'canonical' if canonical else 'reference_compat'} mode)", ""]
    for r in reports:
        lines.append(f"## {r.line()}")
        lines.append("")
        firsts = {}
        for m in r.mismatches:
            firsts.setdefault(m.seed, m)
        shown = list(firsts.values())[:per_file]
        for m in shown:
            lines.append(f"- {m.describe()}")
        if len(firsts) > per_file:
            lines.append(f"- ... {len(firsts) - per_file} more games with a mismatch")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+", help="trace files (.jsonl.gz)")
    ap.add_argument("--canonical", action="store_true", help="replay with the canonical rules and classify differences")
    ap.add_argument("--max-games", type=int, default=None, help="replay only the first N games of each file")
    ap.add_argument("--resync", action="store_true", help="after a mismatch, reload the recorded digest and go on")
    ap.add_argument("--verbose", "-v", action="store_true", help="print every mismatch")
    ap.add_argument("--status-file", default=None, help="also write a markdown summary to this file")
    cli.add_debug(ap)
    args = ap.parse_args(argv)
    missing = [f for f in args.files if not Path(f).is_file()]
    if missing:
        raise cli.UserError(f"trace file not found: {', '.join(missing)}")
    if args.max_games is not None and args.max_games <= 0:
        raise cli.UserError(f"--max-games must be positive, got {args.max_games}")

    paths.enable_compilation_cache()
    from jaxzero.games.ringrift.parity.replay import replay_file

    reports = []
    for f in args.files:
        try:
            rep = replay_file(f, canonical=args.canonical, max_games=args.max_games, resync=args.resync,
                              verbose=args.verbose)
        except (OSError, EOFError, ValueError, KeyError) as e:  # not gzip, truncated, torn or foreign JSON
            raise cli.UserError(f"{f} is not a readable trace file ({type(e).__name__}: {e})") from e
        if rep.games == 0:
            raise cli.UserError(f"{f} holds no games: nothing was checked")
        reports.append(rep)
        print(rep.line(), flush=True)
        if not args.verbose:
            seen = set()
            for m in rep.mismatches:
                if m.seed not in seen:
                    seen.add(m.seed)
                    if len(seen) <= 5:
                        print("  first: " + m.describe(), flush=True)
    if args.status_file:
        Path(args.status_file).write_text(status_markdown(reports, args.canonical))
    tot = lambda k: sum(getattr(r, k) for r in reports)  # noqa: E731
    print(
        f"parity: games={tot('games')} matched={tot('matched')} steps={tot('steps')} "
        f"mismatched_steps={tot('mismatched_steps')} divergent_steps={tot('divergent_steps')}"
    )
    if args.canonical:
        unexplained = sum(r.classes.get("?", 0) for r in reports)
        return 0 if unexplained == 0 else 1
    return 0 if tot("mismatched_steps") == 0 else 1


if __name__ == "__main__":
    sys.exit(cli.run_main(main))
