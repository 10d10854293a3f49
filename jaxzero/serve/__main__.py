"""``python -m jaxzero.serve``: serve a trained jaxzero model (or the heuristic) to RingRift.

    python -m jaxzero.serve --checkpoint runs/sq8 --port 8001 --simulations 64
    python -m jaxzero.serve --player heuristic --port 8001

RingRift's game server then points its AI-service URL (``AI_SERVICE_URL``) at
``http://HOST:PORT``. A checkpoint serves its own game (board and player count); the heuristic
any square8 / hex8 game with 2-4 players.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence

from jaxzero import cli, paths


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m jaxzero.serve", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--checkpoint", metavar="DIR", help="a training workdir: its best net searches for moves")
    who.add_argument("--player", choices=["heuristic"], help="a network-free player (no checkpoint)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8001, help="port (default 8001, RingRift's ai-service port)")
    p.add_argument("--simulations", type=int, default=64, help="search simulations per move (checkpoint)")
    p.add_argument("--max-considered", type=int, default=16, help="actions considered at the root (checkpoint)")
    p.add_argument("--search", default=None, help="search kind (default: the run's selfplay.search)")
    p.add_argument("--batch-sizes", default="1,8,64",
                   help="padded batch sizes, ascending (one compile each per game); the largest is the most "
                        "positions per device call (default 1,8,64)")
    p.add_argument("--window-ms", type=float, default=10.0, help="how long requests are collected into a batch")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds before a request is answered 503")
    p.add_argument("--max-body-bytes", type=int, default=8_000_000, help="larger bodies are answered 413")
    p.add_argument("--ring-order", default="bottom_first", choices=["bottom_first", "top_first"],
                   help="how stacks list rings: bottom_first (RingRift's ai-service models, default) or "
                        "top_first (the TypeScript engine's JSON)")
    p.add_argument("--warmup", default="",
                   help="compile before serving, e.g. square8:2,hex8:3 (checkpoint: its own game by default)")
    cli.add_debug(p)
    return p


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise cli.UserError(f"--batch-sizes must be comma-separated integers, got {text!r}") from None
    if not sizes or min(sizes) < 1 or max(sizes) > 1024:
        raise cli.UserError(f"--batch-sizes must be between 1 and 1024, got {text!r}")
    return tuple(sorted(set(sizes)))


def _warmup_games(text: str) -> list[tuple[str, int]]:
    out = []
    for part in filter(None, (x.strip() for x in text.split(","))):
        board, _, players = part.partition(":")
        if board not in ("square8", "hex8") or players not in ("2", "3", "4"):
            raise cli.UserError(f"--warmup entries look like square8:2 or hex8:4, got {part!r}")
        out.append((board, int(players)))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    paths.enable_compilation_cache()
    import uvicorn

    from jaxzero.serve.app import create_app
    from jaxzero.serve.engine import Mover

    sizes = _sizes(args.batch_sizes)
    games = _warmup_games(args.warmup)
    if args.simulations < 1:
        raise cli.UserError(f"--simulations must be >= 1, got {args.simulations}")
    if args.checkpoint:
        best = cli.load_best(args.checkpoint)
        if not best.game.id.startswith("ringrift_"):
            raise cli.UserError(f"{args.checkpoint} trained {best.game.id}, not a RingRift game")
        try:
            mover = Mover("search", best=best, checkpoint=str(args.checkpoint), simulations=args.simulations,
                          max_considered=args.max_considered, search_kind=args.search, ring_order=args.ring_order,
                          batch_sizes=sizes)
        except ValueError as e:
            raise cli.UserError(str(e)) from e
        games = games or [(best.game.cfg.board, best.game.cfg.num_players)]
    else:
        mover = Mover("heuristic", ring_order=args.ring_order, batch_sizes=sizes)
    for board, players in games:
        logging.getLogger("jaxzero.serve").info("compiling %s %dp for batch sizes %s", board, players, sizes)
        mover.warm(board, players)
    app = create_app(mover, window_s=args.window_ms / 1000.0, timeout_s=args.timeout,
                     max_body_bytes=args.max_body_bytes)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


sys.exit(cli.run_main(main))
