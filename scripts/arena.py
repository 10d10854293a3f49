"""Plays a match between two players on a config's game, seats rotated evenly.

    python scripts/arena.py --config configs/sq8.py --a heuristic --b random --games 400
    python scripts/arena.py --config configs/sq8_3p.py:tiny --a maxn --b paranoid --games 300 \
        --simulations 8 --considered 4 [--checkpoint WORKDIR] [--net-seed 0]

A player is `random` (uniform legal), `heuristic` (RingRift's one-ply greedy heuristic), a
training workdir (its latest checkpoint's best net, with the deterministic search its run measured
the best with: `selfplay.search` at the budget `arena.eval_simulations` / `eval_considered`, which
default to the self-play budget), or a search kind `maxn`,
`paranoid`, `mctx` (2 players) or `auto` (jaxzero.search.maxn.SEARCH_KINDS): that search,
deterministic (gumbel_scale 0), over ONE network shared by both sides -- the best net of
`--checkpoint WORKDIR`, or else a fresh network of the config's `net` architecture initialised
with `--net-seed` (default: the config's seed) -- with `--simulations` / `--considered` (default:
the config's selfplay settings); `--b-simulations` / `--b-considered` give B its own budget (two
budgets of one search over one network, e.g. 8 vs 16 considered actions).

Seats (jaxzero.match.play_match): A plays one seat, B all the others; A's seat is `g % P` in game
g, so over each group of P games A sits once in every seat; the first `--opening-moves` decisions
of the P games of a group are the same uniformly random moves. A's score per game is its
normalised rank score (1 first, 0 last, linear between: 3 players 1 / 0.5 / 0; 0.5 for an
unfinished game); equal players average 0.5. The last line printed is

    arena: a=A b=B games=N score=S ci_low=L ci_high=H

with A's mean score and its 95% Wilson interval.
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


def _search_settings(args, sp, side="a"):
    """Budget of side ``side``'s search-kind player: ``--simulations`` / ``--considered`` (else the
    config's selfplay budget); side B may override them with ``--b-simulations`` / ``--b-considered``."""
    sims = args.simulations if args.simulations else int(sp.num_simulations)
    considered = args.considered if args.considered else int(sp.max_num_considered_actions)
    if side == "b":
        sims = args.b_simulations or sims
        considered = args.b_considered or considered
    return dict(num_simulations=sims, max_num_considered_actions=considered)


def _load_best(workdir: Path, cfg):
    """(saved config, model apply_fn, best params) of a training workdir's latest checkpoint."""
    import jax
    import ml_collections

    from jaxzero.checkpoint import Checkpointer
    from jaxzero.loop import Loop

    if not (workdir / "checkpoints").is_dir():
        raise SystemExit(f"{workdir} is not a training workdir with checkpoints/")
    ckpt = Checkpointer(workdir / "checkpoints")
    it = ckpt.latest_iteration()
    if it is None:
        raise SystemExit(f"no complete checkpoint in {workdir / 'checkpoints'}")
    saved = ml_collections.ConfigDict(ckpt.saved_config(it))
    if saved.game.name != cfg.game.name:
        raise SystemExit(f"checkpoint {workdir} plays {saved.game.name}, the match is {cfg.game.name}")
    loop = Loop(saved, workdir, progress=False, log=lambda s: None)
    state0 = loop.initial_state()
    state, _, _ = ckpt.restore(it, jax.eval_shape(lambda: state0))
    ckpt.close()
    return saved, loop.model.apply, state["best"]


def shared_network(game, cfg, args):
    """The one network of the search-kind players: (apply_fn, params, description)."""
    if args.checkpoint:
        saved, apply_fn, params = _load_best(Path(args.checkpoint), cfg)
        return apply_fn, params, f"best net of {args.checkpoint} ({saved.net.num_blocks}x{saved.net.channels})"
    from jaxzero.nn import make_model

    seed = cfg.seed if args.net_seed is None else args.net_seed
    model, params = make_model(cfg.net, game, seed)
    return model.apply, params, f"fresh {cfg.net.num_blocks}x{cfg.net.channels} net, seed {seed}"


def make_player(name: str, game, cfg, args=None, network=None, side="a"):
    """A batched player function `(states, key) -> actions` for `name` playing as ``side`` ("a" or "b").

    ``network`` = ``(apply_fn, params, description)`` for the search-kind players (see `shared_network`).
    """
    from jaxzero.match import random_player, search_player
    from jaxzero.search.maxn import SEARCH_KINDS, make_search_fn_of_kind

    if name in SEARCH_KINDS:
        if network is None:
            network = shared_network(game, cfg, args)
        apply_fn, params, _ = network
        search = make_search_fn_of_kind(name, game, apply_fn, gumbel_scale=0.0,
                                        **_search_settings(args, cfg.selfplay, side))
        return search_player(search, params)
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
        raise SystemExit(
            f"player {name!r} is neither 'random', 'heuristic', a search kind ({', '.join(SEARCH_KINDS)}) "
            "nor a training workdir with checkpoints/")
    from jaxzero.config import fill_defaults, search_budgets

    saved, apply_fn, params = _load_best(workdir, cfg)
    _, settings = search_budgets(fill_defaults(saved))  # the budget the run measured its best with
    search = make_search_fn_of_kind(saved.selfplay.search, game, apply_fn, gumbel_scale=0.0, **settings)
    return search_player(search, params)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True, help="config file (configs/*.py, optionally :variant)")
    kinds = "random | heuristic | maxn | paranoid | mctx | auto | training workdir"
    ap.add_argument("--a", required=True, help=kinds)
    ap.add_argument("--b", required=True, help=kinds)
    ap.add_argument("--games", type=int, default=400, help="number of games (a multiple of the player count)")
    ap.add_argument("--max-steps", type=int, default=None, help="decision cap per game (default: the game's max_moves)")
    ap.add_argument("--opening-moves", type=int, default=None,
                    help="random opening decisions shared by each group of P games (default: the config's "
                         "arena.opening_moves if a side is a search, else 0)")
    ap.add_argument("--checkpoint", default=None, help="training workdir whose best net the search-kind players use")
    ap.add_argument("--net-seed", type=int, default=None, help="seed of the fresh net when no --checkpoint")
    ap.add_argument("--simulations", type=int, default=None, help="search-kind players (default: selfplay.num_simulations)")
    ap.add_argument("--considered", type=int, default=None,
                    help="search-kind players' max considered actions (default: selfplay.max_num_considered_actions)")
    ap.add_argument("--b-simulations", type=int, default=None,
                    help="B's simulations if B is a search kind (default: --simulations); compares budgets")
    ap.add_argument("--b-considered", type=int, default=None,
                    help="B's max considered actions if B is a search kind (default: --considered)")
    ap.add_argument("--chunk", type=int, default=16, help="decisions per compiled call")
    ap.add_argument("--progress", action="store_true", help="print decisions played and games running per chunk")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="also print the summary as JSON")
    args = ap.parse_args(argv)
    paths.enable_compilation_cache()

    import jax

    from jaxzero.games.registry import make_game
    from jaxzero.match import play_match
    from jaxzero.search.maxn import SEARCH_KINDS

    cfg = _load_config(args.config)
    game = make_game(cfg.game.name)
    searching = [n for n in (args.a, args.b) if n in SEARCH_KINDS]
    network = shared_network(game, cfg, args) if searching else None
    a = make_player(args.a, game, cfg, args, network)
    b = make_player(args.b, game, cfg, args, network, side="b")
    max_steps = args.max_steps or int(cfg.game.max_moves)
    is_search = searching or any(n not in ("random", "heuristic") for n in (args.a, args.b))
    opening = args.opening_moves if args.opening_moves is not None else (int(cfg.arena.opening_moves) if is_search else 0)
    t0 = time.time()

    def progress(decisions, running, so_far):
        print(f"  {decisions} decisions, {running} games running, {time.time() - t0:.0f} s; so far (running = 0.5): "
              f"score={so_far['score']:.4f} ci_low={so_far['ci_low']:.4f} ci_high={so_far['ci_high']:.4f} "
              f"seats={','.join(f'{x:.3f}' for x in so_far['seat_scores'])}", flush=True)

    r = play_match(game, a, b, jax.random.PRNGKey(args.seed), args.games, max_steps, chunk=args.chunk,
                   opening_moves=opening, progress=progress if args.progress else None)
    r.update(a=args.a, b=args.b, game=cfg.game.name, seconds=round(time.time() - t0, 1), opening_moves=opening)
    if searching:
        r.update(network=network[2], **_search_settings(args, cfg.selfplay))
        if args.b in SEARCH_KINDS:
            b_budget = _search_settings(args, cfg.selfplay, "b")
            r.update(b_num_simulations=b_budget["num_simulations"],
                     b_max_num_considered_actions=b_budget["max_num_considered_actions"])
        print(f"search players: {network[2]}, {r['num_simulations']} simulations, "
              f"{r['max_num_considered_actions']} considered actions"
              + (f" (B: {r['b_num_simulations']} / {r['b_max_num_considered_actions']})" if "b_num_simulations" in r else "")
              + ", gumbel_scale 0")
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
