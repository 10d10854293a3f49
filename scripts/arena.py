"""Plays a match between two players on a config's game, seats swapped (rotated) evenly.

    python scripts/arena.py --config configs/sq8.py --a heuristic --b random --games 400

A player is `random` (uniform legal), `heuristic` (RingRift's one-ply greedy heuristic) or a
training workdir (its latest checkpoint's best net, with the deterministic search of its
saved config). The last line printed is

    arena: a=A b=B games=N score=S ci_low=L ci_high=H

with A's mean score (1 win, 0.5 shared/unfinished, 0 loss) and its 95% Wilson interval.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jaxzero import paths  # noqa: E402


def _load_config(spec: str):
    path, _, arg = spec.partition(":")
    mod_spec = importlib.util.spec_from_file_location("arena_config", path)
    if mod_spec is None:
        raise SystemExit(f"config file not found: {path}")
    mod = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(mod)
    return mod.get_config(arg) if arg else mod.get_config()


def make_player(name: str, game, cfg):
    """A batched player function `(states, key) -> actions` for `name`."""
    import jax

    from jaxzero.match import random_player

    if name == "random":
        return random_player
    if name == "heuristic":
        if not str(game.id).startswith("ringrift"):
            raise SystemExit(f"the heuristic player exists only for RingRift games, not {game.id}")
        from jaxzero.games.ringrift.heuristic import heuristic_player

        weights = dict(cfg.heuristic.weights) if "heuristic" in cfg and "weights" in cfg.heuristic else None
        return heuristic_player(game.cfg, weights)
    workdir = Path(name)
    if not (workdir / "checkpoints").is_dir():
        raise SystemExit(f"player {name!r} is neither 'random', 'heuristic' nor a training workdir with checkpoints/")
    import ml_collections

    from jaxzero.checkpoint import Checkpointer
    from jaxzero.loop import Loop
    from jaxzero.search import make_search_fn

    ckpt = Checkpointer(workdir / "checkpoints")
    it = ckpt.latest_iteration()
    if it is None:
        raise SystemExit(f"no complete checkpoint in {workdir / 'checkpoints'}")
    saved = ml_collections.ConfigDict(ckpt.saved_config(it))
    if saved.game.name != cfg.game.name:
        raise SystemExit(f"checkpoint {name} plays {saved.game.name}, the match is {cfg.game.name}")
    loop = Loop(saved, workdir, progress=False, log=lambda s: None)
    state0 = loop.initial_state()
    state, _, _ = ckpt.restore(it, jax.eval_shape(lambda: state0))
    params = state["best"]
    ckpt.close()
    search = make_search_fn(
        game,
        loop.model.apply,
        num_simulations=saved.selfplay.num_simulations,
        max_num_considered_actions=saved.selfplay.max_num_considered_actions,
        gumbel_scale=0.0,
    )

    def player(states, key):
        return search(params, states, key).action.astype("int32")

    return player


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True, help="config file (configs/*.py, optionally :variant)")
    ap.add_argument("--a", required=True, help="random | heuristic | training workdir")
    ap.add_argument("--b", required=True, help="random | heuristic | training workdir")
    ap.add_argument("--games", type=int, default=400, help="number of games (a multiple of the player count)")
    ap.add_argument("--max-steps", type=int, default=None, help="decision cap per game (default: the game's max_moves)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="also print the summary as JSON")
    args = ap.parse_args(argv)
    paths.enable_compilation_cache()

    import jax

    from jaxzero.games.protocol import make_game
    from jaxzero.match import play_match

    cfg = _load_config(args.config)
    game = make_game(cfg.game.name)
    a = make_player(args.a, game, cfg)
    b = make_player(args.b, game, cfg)
    max_steps = args.max_steps or int(cfg.game.max_moves)
    t0 = time.time()
    r = play_match(game, a, b, jax.random.PRNGKey(args.seed), args.games, max_steps)
    r.update(a=args.a, b=args.b, game=cfg.game.name, seconds=round(time.time() - t0, 1))
    r.pop("per_game")
    print(f"per-seat scores of A: {', '.join(f'{s:.3f}' for s in r['seat_scores'])}; unfinished games: {r['truncated']}; "
          f"{r['seconds']} s")
    if args.json:
        print(json.dumps(r))
    print(f"arena: a={args.a} b={args.b} games={r['games']} score={r['score']:.4f} "
          f"ci_low={r['ci_low']:.4f} ci_high={r['ci_high']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
