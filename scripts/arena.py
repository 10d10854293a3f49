"""Plays a match between two players on a config's game, seats rotated evenly.

    python scripts/arena.py --config sq8 --a heuristic --b random --games 400
    python scripts/arena.py --config configs/sq8_3p.py:tiny --a maxn --b paranoid --games 300 \
        --simulations 8 --considered 4 [--checkpoint WORKDIR] [--net-seed 0]

A player is `random` (uniform legal), `heuristic` (the game's heuristic: RingRift's one-ply greedy
evaluation, else the generic one-ply greedy player; `config.heuristic`), a training workdir (its
latest checkpoint's best net; `DIR@bootstrap`: the net its heuristic bootstrap trained; `DIR@candidate`: the net its
training goes on from, which a kept gate has not promoted), with the deterministic search its run measured the best with:
`selfplay.search` at the budget `arena.eval_simulations` / `eval_considered`, which default to the
self-play budget; `--simulations 0` / `--b-simulations 0`: its raw policy, the argmax of the net's
legal logits without search), or a search kind `maxn`,
`paranoid`, `mctx` (2 players) or `auto` (jaxzero.search.kinds.SEARCH_KINDS): that search,
deterministic (gumbel_scale 0), over ONE network shared by both sides -- the best net of
`--checkpoint WORKDIR`, or else a fresh network of the config's `net` architecture initialised
with `--net-seed` (default: the config's seed) -- with `--simulations` / `--considered` (default:
the config's selfplay settings); `--b-simulations` / `--b-considered` give B its own budget (two
budgets of one search over one network, e.g. 8 vs 16 considered actions).

Seats (jaxzero.match.play_match): A plays one seat, B all the others; A's seat is `g % P` in game
g, so over each group of P games A sits once in every seat; the first `--opening-moves` decisions
of the P games of a group are the same uniformly random moves. A's score per game is its
normalised rank score (1 first, 0 last, linear between: 3 players 1 / 0.5 / 0; 0.5 for an
unfinished game); equal players average 0.5. With 3-4 players A's win share (the games it finished
first alone, 1 / P for equals) is printed too, with its interval (``win_share`` in ``--json``). The
last line printed is

    arena: a=A b=B games=N score=S ci_low=L ci_high=H

with A's mean score and its 95% Wilson interval. The config accepts `--config.a.b=value` overrides.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jaxzero import cli, paths  # noqa: E402

KINDS = "random | heuristic | maxn | paranoid | mctx | auto | training workdir (DIR, DIR@bootstrap, DIR@candidate)"


def asked_simulations(args, side: str = "a") -> int | None:
    """The simulations the command line asks of side ``side`` (B: ``--b-simulations`` first), or None."""
    return args.b_simulations if side == "b" and args.b_simulations is not None else args.simulations


def budget_of(args, cfg, side: str = "a") -> dict | None:
    """Side ``side``'s search budget from ``--simulations`` / ``--considered`` (B: ``--b-*`` first),
    else the config's self-play budget; None when the side plays its raw policy (0 simulations)."""
    sims = asked_simulations(args, side)
    considered = args.b_considered if side == "b" and args.b_considered else args.considered
    if sims == 0:
        return None
    return dict(num_simulations=sims or int(cfg.selfplay.num_simulations),
                max_num_considered_actions=considered or int(cfg.selfplay.max_num_considered_actions))


def shared_network(game, cfg, args):
    """The one network of the search-kind players: (apply_fn, params, description)."""
    if args.checkpoint:
        best = cli.load_best(args.checkpoint, cfg.game.name)
        net = best.config.net
        return best.apply_fn, best.params, f"best net of {args.checkpoint} ({net.num_blocks}x{net.channels})"
    from jaxzero.nn import make_inference_model, make_model

    seed = cfg.seed if args.net_seed is None else args.net_seed
    _, params = make_model(cfg.net, game, seed)
    return make_inference_model(cfg.net, game).apply, params, f"fresh {cfg.net.num_blocks}x{cfg.net.channels} net, seed {seed}"


def make_player(name: str, game, cfg, args, network=None, side="a"):
    """A batched player function `(states, key) -> actions` for `name` playing as ``side`` ("a" or "b").

    ``network`` = ``(apply_fn, params, description)`` for the search-kind players (see `shared_network`).
    """
    import jax.numpy as jnp

    from jaxzero.config import fill_defaults, search_budgets
    from jaxzero.match import search_player
    from jaxzero.players import heuristic_player_for, policy_player, random_player
    from jaxzero.search import SEARCH_KINDS, SearchBudget, make_search, with_value_prior

    if name == "random":
        return random_player
    if name == "heuristic":
        label, player = heuristic_player_for(game, cfg.heuristic)
        if player is None:
            raise cli.UserError("the config has no heuristic (config.heuristic.player is 'none')")
        return player
    if name in SEARCH_KINDS:
        apply_fn, params, _ = network or shared_network(game, cfg, args)
        kind, budget, own = name, budget_of(args, cfg, side), cfg
    elif (Path(name.partition("@")[0]) / "checkpoints").is_dir():
        best = cli.load_best(name, cfg.game.name)
        apply_fn, params, kind, own = best.apply_fn, best.params, best.config.selfplay.search, fill_defaults(best.config)
        _, measured = search_budgets(own)  # the budget the run measured its best with
        budget = measured if asked_simulations(args, side) is None else budget_of(args, cfg, side)
    else:
        raise cli.UserError(f"player {name!r} is neither {KINDS.replace(' |', ',')} (a directory with checkpoints/)")
    if budget is None:
        return policy_player(game, apply_fn, params)
    weight = args.b_prior_weight if side == "b" else args.prior_weight
    if weight:  # leaf values mixed with the game's evaluation, as the run's self-play can search
        if not hasattr(game, "heuristic_values"):
            raise cli.UserError(f"--{'b-' if side == 'b' else ''}prior-weight needs a game with a hand-written "
                                f"evaluation; {cfg.game.name} has none")
        scale = float(own.selfplay.prior_value_scale)  # the player's own config's (validated > 0)
        game, apply_fn = with_value_prior(game, apply_fn, functools.partial(game.heuristic_values, scale=scale))
        params = (params, jnp.float32(weight))
    return search_player(make_search(kind, game, apply_fn, SearchBudget(**budget, gumbel_scale=0.0)), params)


def main(argv=None) -> int:
    ap = cli.config_parser(__doc__)
    ap.add_argument("--a", required=True, help=KINDS)
    ap.add_argument("--b", required=True, help=KINDS)
    ap.add_argument("--games", type=int, default=400, help="number of games (a multiple of the player count)")
    ap.add_argument("--max-steps", type=int, default=None, help="decision cap per game (default: the game's max_moves)")
    ap.add_argument("--opening-moves", type=int, default=None,
                    help="random opening decisions shared by each group of P games (default: the config's "
                         "arena.opening_moves if a side is a search, else 0)")
    ap.add_argument("--checkpoint", default=None, help="training workdir whose best net the search-kind players use")
    ap.add_argument("--net-seed", type=int, default=None, help="seed of the fresh net when no --checkpoint")
    ap.add_argument("--simulations", type=int, default=None,
                    help="search budget of search-kind and workdir players (default: selfplay.num_simulations for "
                         "search kinds, the run's evaluation budget for workdirs); 0: the raw policy, no search")
    ap.add_argument("--considered", type=int, default=None,
                    help="search-kind players' max considered actions (default: selfplay.max_num_considered_actions)")
    ap.add_argument("--b-simulations", type=int, default=None,
                    help="B's simulations (default: --simulations); compares budgets; 0: B's raw policy")
    ap.add_argument("--b-considered", type=int, default=None,
                    help="B's max considered actions if B is a search kind (default: --considered)")
    ap.add_argument("--prior-weight", type=float, default=0.0,
                    help="A's search mixes this weight of the game's evaluation into its leaf values "
                         "(selfplay.prior_value_weight's mixing, at the player's config's prior_value_scale); 0: the net alone")
    ap.add_argument("--b-prior-weight", type=float, default=0.0, help="the same for B")
    ap.add_argument("--chunk", type=int, default=16, help="decisions per compiled call")
    ap.add_argument("--progress", action="store_true", help="print decisions played and games running per chunk")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="also print the summary as JSON")
    args, cfg = cli.parse(ap, argv)
    cfg = cli.validated(cfg)
    for flag in ("games", "chunk", "max_steps"):
        value = getattr(args, flag)
        if value is not None and value <= 0:
            raise cli.UserError(f"--{flag.replace('_', '-')} must be positive, got {value}")
    if any(v is not None and v < 0 for v in (args.simulations, args.b_simulations, args.opening_moves)):
        raise cli.UserError("--simulations, --b-simulations and --opening-moves must be >= 0")
    if not all(0.0 <= w <= 1.0 for w in (args.prior_weight, args.b_prior_weight)):
        raise cli.UserError("--prior-weight and --b-prior-weight must be in [0, 1]")
    paths.enable_compilation_cache()

    import jax

    from jaxzero.games.registry import make_game
    from jaxzero.match import play_match
    from jaxzero.search import SEARCH_KINDS

    game = make_game(cfg.game.name)
    if args.games % game.num_players:
        raise cli.UserError(f"--games ({args.games}) must be a multiple of the player count ({game.num_players})")
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
    r.update(a=args.a, b=args.b, game=cfg.game.name, seconds=round(time.time() - t0, 1), opening_moves=opening,
             prior_weight=args.prior_weight, b_prior_weight=args.b_prior_weight)
    if searching:
        r.update(network=network[2], **(budget_of(args, cfg) or {"num_simulations": 0}))
        if args.b in SEARCH_KINDS:
            b_budget = budget_of(args, cfg, "b") or {"num_simulations": 0, "max_num_considered_actions": 0}
            r.update(b_num_simulations=b_budget["num_simulations"],
                     b_max_num_considered_actions=b_budget["max_num_considered_actions"])
        print(f"search players: {network[2]}, {r['num_simulations']} simulations, "
              f"{r.get('max_num_considered_actions', 0)} considered actions"
              + (f" (B: {r['b_num_simulations']} / {r['b_max_num_considered_actions']})" if "b_num_simulations" in r else "")
              + ", gumbel_scale 0")
    r.pop("per_game")
    print(f"per-seat scores of A: {', '.join(f'{s:.3f}' for s in r['seat_scores'])}; unfinished games: {r['truncated']}; "
          f"{r['seconds']} s")
    if game.num_players > 2:  # 1 / P is fair
        lo, hi = r["win_share_ci"]
        print(f"A won alone {r['win_share']:.3f} [{lo:.3f}, {hi:.3f}] of the games (fair: {1 / game.num_players:.3f})")
    if args.json:
        print(json.dumps(r))
    print(f"arena: a={args.a} b={args.b} games={r['games']} score={r['score']:.4f} "
          f"ci_low={r['ci_low']:.4f} ci_high={r['ci_high']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_main(main))
