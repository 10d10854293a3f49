"""Benchmarks. Subcommands (a runner + an `_add_*` function calling `_subcommand`, listed in `SUBCOMMANDS`):

    python scripts/bench.py selfplay --config configs/connect4.py [--config.selfplay.batch_size=128] [--json]
    python scripts/bench.py profile --config configs/sq8.py [--batch 16] [--repeats 5] [--json]
    python scripts/bench.py gpu [--small] [--out result.json] [--json]
    python scripts/bench.py engine --board square8 --players 2 [--batch 256] [--seconds 20] [--json]
    python scripts/bench.py heuristic --board square8 --players 2 [--batch 256] [--seconds 30] [--json]
    python scripts/bench.py heuristic --config configs/hex8_3p.py [--batch 256] [--seconds 30] [--json]
    python scripts/bench.py search --config configs/sq8.py [--simulations 64] [--batch 16] [--repeats 5] [--json]
    python scripts/bench.py precision --checkpoint runs/sq8_cpu [--games 50] [--json]
    python scripts/bench.py fuzz [--steps 1000000] [--boards square8,hex8] [--players 2,3,4] [--batch 256] [--json]
    python scripts/bench.py scaling --config tictactoe [--devices 1,2,4,8] [--repeats 3] [--train-steps 20] [--json]
    python scripts/bench.py targets --checkpoint runs/sq8_cpu [--variants P,V,PV] [--steps 320] [--games 192] [--against heuristic-raw] [--json]
    python scripts/bench.py capacity --config configs/sq8.py:cpu [--nets 2x32,2x32@0.5,4x48] [--steps 1000] [--games 100] [--json]
    python scripts/bench.py values --checkpoint runs/sq8_cpu[@bootstrap] [--chunks 8] [--seed 0] [--json]

``selfplay`` times search self-play (after a warm-up call that compiles) and prints games/s and positions/s;
for RingRift also the engine's random steps/s at the same batch and searched state-steps/s over it (``--engine-seconds``).
``profile`` splits one search decision into network, rules (step + observe), legal-list packing and search
bookkeeping, with the network's FLOP and bandwidth floors (jaxzero.bench.profile).
``gpu`` is the one-command accelerator check (jaxzero.bench.gpu, <= 6 minutes on a GPU): square8 2p search
self-play decisions/s at batch 1024 with the compact search on and off, engine steps/s at batch 4096 and
heuristic games/s at batch 1024; ``--small`` runs it with tiny batches on a CPU.
``engine`` plays uniformly random RingRift games to the end under vmap: complete games/s and decision steps/s.
``heuristic`` plays RingRift games where every seat is the one-ply greedy heuristic: games/s.
``search`` times mctx's Gumbel search and the max^n search (jaxzero.search.maxn) in one run on the config's
2-player game with its network (fresh, fixed seed), the same positions, simulations and batch, repetitions
interleaved; prints ``ratio`` = max^n median / mctx median (and the load average before and after).
``precision`` compares a workdir's best net computing in bfloat16 (the accelerator's inference dtype) with
float32 on every decision point of the first reference games of its board: the share of equal argmax moves.
``fuzz`` steps the jitted RingRift envs with random legal and illegal ids (half each by default) and checks
every transition's invariants (jaxzero.bench.fuzz): steps, time, steps/s, violations (must be 0).
``scaling`` measures self-play games/hour and train steps/s of a config on its mesh (jaxzero.mesh) with 1, 2,
4, 8 forced CPU devices, one subprocess each (jaxzero.bench.scaling; the global batches stay the config's),
and prints a Markdown table.
``targets`` fine-tunes a run's bootstrap net on its replay buffer's search self-play rows with the policy loss,
the value loss or both, and plays each result against the bootstrap net: which targets carry knowledge
(jaxzero.bench.targets).
``capacity`` plays the bootstrap's heuristic games once and trains each network shape on them with the
bootstrap's recipe: held-out and training agreement with the heuristic, and each raw policy against the
heuristic. Is imitation limited by the net or by the data (jaxzero.bench.capacity)?
``values`` plays search self-play with a run's net and config and scores its value head and the search's
chosen-move Q against the games' outcomes (squared error, correlation, by moves to the end; jaxzero.bench.values).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jaxzero import cli, paths  # noqa: E402


def _subcommand(sub, name: str, func, help: str) -> argparse.ArgumentParser:  # noqa: A002 (add_parser's name)
    """The subparser of subcommand ``name`` running ``func(args, overrides)``, with the shared
    ``--json`` flag (print one JSON object); the caller adds the subcommand's own arguments."""
    p = sub.add_parser(name, help=help)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=func)
    return p


def refuse_overrides(overrides: list[str]) -> None:
    """Subcommands without a config take no ``--config.*`` overrides: name what was not understood."""
    if overrides:
        raise cli.UserError(f"unrecognised arguments {overrides}")


def load_config(spec: str, overrides: list[str]):
    """The config ``spec`` names with its ``--config.a.b=value`` overrides (`jaxzero.cli.load_config`)."""
    return cli.load_config(spec, overrides)


def bench_selfplay(args, overrides) -> dict:
    """Games/s and positions/s of batched search self-play with a fresh network (jaxzero.bench.selfplay)."""
    from jaxzero.bench.selfplay import bench_selfplay as run

    cfg = load_config(args.config, overrides)
    return {"benchmark": "selfplay", "config": args.config, "overrides": overrides,
            **run(cfg, args.repeats, args.engine_seconds)}


def _add_selfplay(sub):
    p = _subcommand(sub, "selfplay", bench_selfplay, help="search self-play throughput (games/s, positions/s)")
    p.add_argument("--config", required=True, help="config file, e.g. configs/connect4.py")
    p.add_argument("--repeats", type=int, default=3, help="timed chunks of selfplay.chunk_steps moves")
    p.add_argument("--engine-seconds", type=float, default=10.0,
                   help="RingRift: seconds of random engine play at the same batch (0: skip)")


def bench_profile(args, overrides) -> dict:
    """One search decision split into network, rules, packing and bookkeeping (jaxzero.bench.profile)."""
    from jaxzero.bench.profile import profile_search

    cfg = load_config(args.config, overrides)
    r = profile_search(cfg, batch=args.batch, repeats=args.repeats, peak_gflops=args.peak_gflops,
                       bandwidth_gbs=args.bandwidth_gbs, full=not args.no_full)
    return {"benchmark": "profile", "config": args.config, "overrides": overrides, **r, "host": platform.node()}


def _add_profile(sub):
    p = _subcommand(sub, "profile", bench_profile,
                    help="time split of one search decision: net, rules, packing, bookkeeping")
    p.add_argument("--config", required=True, help="config file, e.g. configs/sq8.py")
    p.add_argument("--batch", type=int, default=None, help="positions searched together (default selfplay.batch_size)")
    p.add_argument("--repeats", type=int, default=5, help="timed calls of each piece (median)")
    p.add_argument("--peak-gflops", type=float, default=320.0, help="device peak float32 GFLOP/s (net's floor)")
    p.add_argument("--bandwidth-gbs", type=float, default=20.0, help="device memory bandwidth GB/s (net's floor)")
    p.add_argument("--no-full", action="store_true", help="skip timing the search over all action ids")


def bench_engine(args, overrides) -> dict:
    """Complete uniformly random RingRift games/s and decision steps/s (jaxzero.bench.engine)."""
    import jax

    from jaxzero.bench.engine import bench_engine as run

    refuse_overrides(overrides)
    r = run(args.board, args.players, args.batch, args.seconds)
    r["steps_per_s"] = r["decisions_per_s"]
    r["device"] = str(jax.devices()[0].platform)
    return {"benchmark": "engine", **r}


def bench_heuristic(args, overrides) -> dict:
    """Games/s of RingRift self-play where every seat plays the one-ply greedy heuristic."""
    import jax

    from jaxzero.bench.heuristic import bench_heuristic as run

    board, players, weights = args.board, args.players, None
    if getattr(args, "config", None):
        # a RingRift config: its game (board, players) and heuristic weights; --config.* overrides apply
        cfg = load_config(args.config, overrides)
        overrides = []
        _, board, p = cfg.game.name.split("_")
        players = int(p.rstrip("p"))
        if "heuristic" in cfg and "weights" in cfg.heuristic and len(cfg.heuristic.weights):
            weights = dict(cfg.heuristic.weights)
    refuse_overrides(overrides)
    r = run(board, players, args.batch, args.seconds, weights=weights)
    r["device"] = str(jax.devices()[0].platform)
    r["loadavg"] = [round(x, 2) for x in __import__("os").getloadavg()]
    return {"benchmark": "heuristic", **r}


def _add_heuristic(sub):
    _add_ringrift("heuristic", bench_heuristic, 256, 30.0, "heuristic-vs-heuristic RingRift games: games/s")(sub)
    sub.choices["heuristic"].add_argument(
        "--config", default=None, help="RingRift config (configs/sq8.py, ...): board, players and heuristic weights "
        "from it (overrides --board/--players)")


def _add_ringrift(name, func, batch, seconds, help_):
    def add(sub):
        p = _subcommand(sub, name, func, help=help_)
        p.add_argument("--board", default="square8", choices=("square8", "hex8"))
        p.add_argument("--players", type=int, default=2, choices=(2, 3, 4))
        p.add_argument("--batch", type=int, default=batch, help="games played in parallel")
        p.add_argument("--seconds", type=float, default=seconds, help="timed wall seconds after compilation")

    return add


def bench_search_speed(args, overrides) -> dict:
    """max^n vs mctx Gumbel search time on the same network, positions, simulations and batch."""
    import os

    import jax

    from jaxzero.games.registry import make_game
    from jaxzero.nn import make_model
    from jaxzero.bench.search import bench_search, random_positions

    cfg = load_config(args.config, overrides)
    game = make_game(cfg.game.name)
    if game.num_players != 2:
        raise cli.UserError(f"the mctx comparison needs a 2-player game, {game.id} has {game.num_players}")
    model, params = make_model(cfg.net, game, cfg.seed)
    sims = args.simulations or cfg.selfplay.num_simulations
    considered = args.considered or cfg.selfplay.max_num_considered_actions
    load_before = os.getloadavg()
    states = jax.jit(lambda k: random_positions(game, k, args.batch, args.max_moves))(jax.random.PRNGKey(1))
    r = bench_search(
        game,
        model.apply,
        params,
        states,
        num_simulations=sims,
        max_num_considered_actions=considered,
        repeats=args.repeats,
    )
    load_after = os.getloadavg()
    return {
        "benchmark": "search",
        "config": args.config,
        "overrides": overrides,
        "game": cfg.game.name,
        "net": f"{cfg.net.num_blocks}x{cfg.net.channels}",
        "considered": considered,
        "repeats": args.repeats,
        **r,
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in load_after],
        "host": platform.node(),
    }


def _add_search(sub):
    p = _subcommand(sub, "search", bench_search_speed,
                    help="max^n vs mctx search time at equal simulations and batch (2 players)")
    p.add_argument("--config", required=True, help="config file of a 2-player game, e.g. configs/sq8.py")
    p.add_argument("--simulations", type=int, default=None, help="default: the config's selfplay.num_simulations")
    p.add_argument("--considered", type=int, default=None, help="default: selfplay.max_num_considered_actions")
    p.add_argument("--batch", type=int, default=16, help="positions searched together")
    p.add_argument("--repeats", type=int, default=5, help="timed calls of each search, interleaved")
    p.add_argument("--max-moves", type=int, default=40, help="positions after up to this many random moves")


def bench_gpu(args, overrides) -> dict:
    """The accelerator check (jaxzero.bench.gpu): self-play compact on/off, engine, heuristic."""
    from jaxzero.bench.gpu import gpu_check

    refuse_overrides(overrides)
    return {**gpu_check(small=args.small, out=args.out), "host": platform.node()}


def _add_gpu(sub):
    p = _subcommand(sub, "gpu", bench_gpu,
                    help="accelerator check: search self-play (compact on/off), engine, heuristic")
    p.add_argument("--small", action="store_true", help="tiny batches and net: a smoke test on a CPU")
    p.add_argument("--out", default=None, help="also write the result (so far) to this JSON file after every part")


def bench_precision(args, overrides) -> dict:
    """bfloat16 vs float32 argmax agreement of a workdir's best net on reference positions."""
    from jaxzero.bench.precision import argmax_agreement, trace_positions

    refuse_overrides(overrides)
    best = cli.load_best(args.checkpoint)
    g = best.game
    if not g.id.startswith("ringrift_"):
        raise cli.UserError(f"{args.checkpoint} trained {g.id}: precision needs a RingRift run (reference positions)")
    path = paths.traces_dir() / f"{g.cfg.board}_{g.num_players}p.jsonl.gz"
    if not path.is_file():
        raise cli.UserError(f"no reference trace {path} (set JAXZERO_SHARED)")
    obs, legal = trace_positions(path, args.games)
    return {"benchmark": "precision", "checkpoint": args.checkpoint, "iteration": best.iteration,
            "trace": path.name, "games": args.games,
            **argmax_agreement(best.config.net, g, best.params, obs, legal)}


def _add_precision(sub):
    p = _subcommand(sub, "precision", bench_precision,
                    help="bfloat16 vs float32 inference: argmax agreement on reference positions")
    p.add_argument("--checkpoint", required=True, help="a RingRift training workdir (DIR or DIR@bootstrap)")
    p.add_argument("--games", type=int, default=50, help="reference games whose decision points are used")


def bench_fuzz(args, overrides) -> dict:
    """Random legal and illegal ids through the jitted RingRift envs, every transition checked (jaxzero.bench.fuzz)."""
    import jax

    from jaxzero.bench.fuzz import fuzz

    refuse_overrides(overrides)
    try:
        boards = tuple(args.boards.split(","))
        players = tuple(int(p) for p in args.players.split(","))
    except ValueError:
        raise cli.UserError(f"--players must be comma-separated integers, got {args.players!r}") from None
    if not set(boards) <= {"square8", "hex8"} or not set(players) <= {2, 3, 4}:
        raise cli.UserError(f"fuzz runs boards square8, hex8 with 2-4 players; got --boards {args.boards} "
                            f"--players {args.players}")

    def log(r):
        if not args.json:
            print(f"{r['game']}: {r['steps']} steps in {r['seconds']}s ({r['compile_s']}s compile), "
                  f"{r['steps_per_s']} steps/s, {r['violations']} violations {r['violations_per_invariant'] or ''}",
                  flush=True)

    r = fuzz(args.steps, boards, players, args.batch, args.chunk, args.illegal_share, args.reset_every, args.seed, log)
    return {"benchmark": "fuzz", **r, "device": str(jax.devices()[0].platform), "host": platform.node()}


def _add_fuzz(sub):
    p = _subcommand(sub, "fuzz", bench_fuzz,
                    help="random legal and illegal ids through the jitted RingRift envs: invariant violations")
    p.add_argument("--steps", type=int, default=10**6, help="checked steps in all, split over the configs")
    p.add_argument("--boards", default="square8,hex8", help="comma-separated boards")
    p.add_argument("--players", default="2,3,4", help="comma-separated player counts")
    p.add_argument("--batch", type=int, default=256, help="games stepped together")
    p.add_argument("--chunk", type=int, default=32, help="steps per jitted call")
    p.add_argument("--illegal-share", type=float, default=0.5, help="probability that a step's id is random (illegal)")
    p.add_argument("--reset-every", type=int, default=8, help="finished games restart every this many steps")
    p.add_argument("--seed", type=int, default=0)


def bench_scaling(args, overrides) -> dict:
    """Self-play games/hour and train steps/s on 1, 2, 4, ... forced CPU devices (jaxzero.bench.scaling)."""
    from jaxzero.bench.scaling import markdown, table

    try:
        devices = [int(x) for x in args.devices.split(",")]
    except ValueError:
        raise cli.UserError(f"--devices takes comma-separated counts such as 1,2,4,8, got {args.devices!r}") from None
    cli.load_config(args.config, overrides)  # a bad config or override fails here, once
    log = None if args.json else (lambda r: print(json.dumps(r), flush=True))
    rows = table(args.config, overrides, devices, args.repeats, args.train_steps, log=log)
    if not args.json:
        print(markdown(rows))
    return {"benchmark": "scaling", "config": args.config, "overrides": overrides, "rows": rows,
            "host": platform.node()}


def _add_scaling(sub):
    p = _subcommand(sub, "scaling", bench_scaling,
                    help="self-play games/hour and train steps/s on 1, 2, 4, 8 forced CPU devices")
    p.add_argument("--config", required=True, help="config file or name, e.g. tictactoe")
    p.add_argument("--devices", default="1,2,4,8", help="device counts, one subprocess each")
    p.add_argument("--repeats", type=int, default=3, help="timed self-play chunks of selfplay.chunk_steps moves")
    p.add_argument("--train-steps", type=int, default=20, help="timed train steps")


def bench_targets(args, overrides) -> dict:
    """Fine-tunes a run's bootstrap net on its self-play targets per loss variant and plays each against it
    (jaxzero.bench.targets, issue 18)."""
    from jaxzero.bench.targets import parse_variant, target_ablation

    refuse_overrides(overrides)
    variants = args.variants.split(",")
    try:
        [parse_variant(v) for v in variants]
    except ValueError as e:
        raise cli.UserError(str(e)) from None
    if args.steps < 1 or args.games < 2:
        raise cli.UserError(f"--steps must be >= 1 and --games >= 2, got {args.steps} and {args.games}")
    try:
        r = target_ablation(args.checkpoint, variants, args.steps, args.games, args.learning_rate, args.seed,
                            log=(lambda s: None) if args.json else (lambda s: print(s, flush=True)),
                            against=args.against)
    except ValueError as e:
        raise cli.UserError(str(e)) from None
    return {"benchmark": "targets", **r, "host": platform.node()}


AGAINST_CHOICES = ("bootstrap", "heuristic-raw")  # jaxzero.bench.targets.AGAINST (not imported at parse time)


def _add_targets(sub):
    p = _subcommand(sub, "targets", bench_targets,
                    help="which self-play targets make a run's net stronger (fine-tune + match)")
    p.add_argument("--checkpoint", required=True, help="a training workdir that bootstrapped from the heuristic")
    p.add_argument("--variants", default="P,V,PV", help="comma-separated: P, V, PV or p<w>v<w> (loss weights)")
    p.add_argument("--steps", type=int, default=320, help="fine-tuning steps per variant (the run's batch size)")
    p.add_argument("--games", type=int, default=192, help="games of each variant against the bootstrap net")
    p.add_argument("--learning-rate", type=float, default=3e-4, help="constant AdamW learning rate")
    p.add_argument("--against", choices=AGAINST_CHOICES, default="bootstrap",
                   help="bootstrap: searched, against the bootstrap net; heuristic-raw: each raw policy (no search) "
                        "against the heuristic, the bootstrap net's raw policy as the baseline")
    p.add_argument("--seed", type=int, default=0)


def bench_capacity(args, overrides) -> dict:
    """Trains several network shapes on one set of bootstrap heuristic games and measures each
    (jaxzero.bench.capacity, issue 18)."""
    from jaxzero.bench.capacity import capacity
    from jaxzero.games.registry import make_game

    cfg = load_config(args.config, overrides)
    if args.steps < 1 or args.games < 0 or args.ceiling_steps < 0:
        raise cli.UserError(f"--steps must be >= 1, --games and --ceiling-steps >= 0, got {args.steps}, {args.games} "
                            f"and {args.ceiling_steps}")
    try:  # capacity checks the net specs and the game count before it plays anything
        r = capacity(cfg, make_game(cfg.game.name), [s for s in args.nets.split(",") if s], args.steps, args.games, args.seed,
                     log=(lambda s: None) if args.json else (lambda s: print(s, flush=True)), progress=not args.json,
                     ceiling_steps=args.ceiling_steps)
    except ValueError as e:
        raise cli.UserError(str(e)) from None
    return {"benchmark": "capacity", "config": args.config, "overrides": overrides, **r, "host": platform.node()}


def _add_capacity(sub):
    p = _subcommand(sub, "capacity", bench_capacity,
                    help="network shapes trained on the same bootstrap heuristic games: agreement and raw strength")
    p.add_argument("--config", required=True, help="a bootstrapping config, e.g. configs/sq8.py:cpu")
    p.add_argument("--nets", default="2x32,2x32@0.5,4x48",
                   help="comma-separated <blocks>x<channels>[@<share of the training games>]")
    p.add_argument("--steps", type=int, default=1000, help="train steps per net (the bootstrap's recipe)")
    p.add_argument("--games", type=int, default=100, help="raw policy vs heuristic games per net (0: none)")
    p.add_argument("--ceiling-steps", type=int, default=0,
                   help="also measure the heuristic's agreement with itself over this many decisions (0: no)")
    p.add_argument("--seed", type=int, default=0)


def bench_values(args, overrides) -> dict:
    """Scores a run's value estimates against the outcomes of its own self-play games (jaxzero.bench.values)."""
    from jaxzero.bench.values import value_quality

    refuse_overrides(overrides)
    if args.chunks < 1:
        raise cli.UserError(f"--chunks must be >= 1, got {args.chunks}")
    best = cli.load_best(args.checkpoint)
    log = (lambda s: None) if args.json else (lambda s: print(s, flush=True))
    r = value_quality(best.config, best.game, best.apply_fn, best.params, args.chunks, args.seed, log=log)
    if not args.json:
        print(f"{r['positions']} positions of {r['games']} finished games (leaf-value prior weight {r['prior_weight']})")
        for name, t in r["estimates"].items():
            bins = "  ".join(f"{b}: {v['mse']:.3f}/{v['corr']:.2f} (n {v['n']})" for b, v in t["to_go"].items())
            print(f"{name:7s} mse {t['all']['mse']:.3f} corr {t['all']['corr']:.3f} | by moves to the end, "
                  f"mse/corr: {bins}")
    return {"benchmark": "values", "checkpoint": args.checkpoint, "iteration": best.iteration, **r,
            "host": platform.node()}


def _add_values(sub):
    p = _subcommand(sub, "values", bench_values,
                    help="a run's value head and search values against its self-play outcomes")
    p.add_argument("--checkpoint", required=True, help="a training workdir (DIR, DIR@bootstrap or DIR@candidate)")
    p.add_argument("--chunks", type=int, default=8, help="self-play chunks of the config's chunk_steps moves")
    p.add_argument("--seed", type=int, default=0)


# One entry per subcommand: a function adding its subparser (set `func` to the runner).
SUBCOMMANDS = [
    _add_selfplay,
    _add_profile,
    _add_ringrift("engine", bench_engine, 256, 20.0, "random RingRift games: games/s, steps/s"),
    _add_heuristic,
    _add_search,
    _add_gpu,
    _add_precision,
    _add_fuzz,
    _add_scaling,
    _add_targets,
    _add_capacity,
    _add_values,
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for add in SUBCOMMANDS:
        add(sub)
    cli.add_debug(parser)
    args, overrides = parser.parse_known_args(argv)
    paths.enable_compilation_cache()
    result = args.func(args, overrides)
    if getattr(args, "json", False):
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>18}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_main(main))
