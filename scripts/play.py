"""Play RingRift in the terminal against a trained net, the heuristic or random.

    python scripts/play.py --checkpoint runs/sq8_cpu                 # you (seat 1) vs the best net
    python scripts/play.py --player heuristic --board hex8 --players 3 --seat 2
    python scripts/play.py --player random --svg /tmp/game          # each position as SVG too

Type moves in RingRift notation (cells ``x,y`` on square8, ``x,y,z`` on hex8), e.g.
``place 3,3 x1``, ``move 3,3>3,5``, ``capture 3,3x3,4>3,6``, ``process_line 0,0;1,0;2,0;3,0``,
``territory 0,0;0,1``, ``elim 3,3 line``, ``skip_placement``, ``swap``. ``?`` or ``legal`` lists the
legal moves, numbered: a number plays that move. ``board`` draws the board again, ``quit`` (or the end
of the input) stops. A malformed or illegal move is refused with the reason, and you are asked again.

The opponent: ``--checkpoint DIR`` (a training workdir): its best net, searching with the budget its
run measured the best with (``--simulations N`` to change it, 0 for the raw policy); its value
estimate per seat and its top moves are printed before each of its moves. ``--player heuristic |
random``: the game's heuristic (weights from ``--config``, default the RingRift config of the
board and player count) or uniform random. ``--seat`` is the seat you take (1..players; with the pie
rule you follow your player if seat 2 swaps). Exit code 0 at the end of a game, 2 for a user error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jaxzero import cli, paths  # noqa: E402

BOARDS = {"square8": "sq8", "hex8": "hex8"}


def config_name(board: str, players: int) -> str:
    """The config of a RingRift board and player count (``sq8``, ``hex8_3p``, ...)."""
    return BOARDS[board] + ("" if players == 2 else f"_{players}p")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    who = p.add_mutually_exclusive_group()
    who.add_argument("--checkpoint", help="training workdir: play against its best net")
    who.add_argument("--player", choices=("heuristic", "random"), help="play against the heuristic or random")
    p.add_argument("--config", default=None,
                   help="config for the game and the heuristic's weights when there is no checkpoint "
                        "(default: the RingRift config of --board and --players)")
    p.add_argument("--board", choices=tuple(BOARDS), default=None, help="square8 (default) or hex8")
    p.add_argument("--players", type=int, choices=(2, 3, 4), default=None, help="number of players (default 2)")
    p.add_argument("--seat", type=int, default=1, help="your seat, 1..players (default 1)")
    p.add_argument("--simulations", type=int, default=None,
                   help="the net's search simulations (default: its run's evaluation budget; 0: raw policy)")
    p.add_argument("--svg", default=None, help="folder to write each position as position_NNN.svg")
    p.add_argument("--seed", type=int, default=0)
    cli.add_debug(p)
    return p


def _game_and_config(args, rest):
    """(game, config, best or None) for the arguments; UserError naming a mismatch."""
    from jaxzero.games.registry import make_game

    if args.checkpoint:
        if args.config:
            raise cli.UserError("--config is for --player; a checkpoint brings its own config")
        best = cli.load_best(args.checkpoint)
        game = best.game
        cfg = best.config
    else:
        best = None
        spec = args.config or config_name(args.board or "square8", args.players or 2)
        cfg = cli.validated(cli.load_config(spec, rest))
        game = make_game(cfg.game.name)
    if not type(game).__module__.startswith("jaxzero.games.ringrift"):
        raise cli.UserError(f"play.py plays RingRift; {cfg.game.name} is not a RingRift game")
    board, players = game.cfg.board, game.num_players
    if args.board and args.board != board:
        raise cli.UserError(f"--board {args.board}, but the {'checkpoint' if best else 'config'} plays {board}")
    if args.players and args.players != players:
        raise cli.UserError(f"--players {args.players}, but the {'checkpoint' if best else 'config'} plays {players}")
    if not 1 <= args.seat <= players:
        raise cli.UserError(f"--seat must be 1..{players}, got {args.seat}")
    return game, cfg, best


def _opponent(args, game, cfg, best):
    """(description, batched player function, evaluate or None)."""
    from jaxzero.players import heuristic_player_for, policy_player, random_player

    if best is None:
        if args.player == "random":
            return "random", random_player, None
        label, player = heuristic_player_for(game, cfg.heuristic)
        if player is None:
            raise cli.UserError("the config has no heuristic (config.heuristic.player is 'none')")
        return label, player, None
    from jaxzero.config import fill_defaults, search_budgets
    from jaxzero.match import search_player
    from jaxzero.replays import evaluator
    from jaxzero.search import SearchBudget, make_search

    _, budget = search_budgets(fill_defaults(best.config))
    if args.simulations is not None:
        if args.simulations < 0:
            raise cli.UserError(f"--simulations must be >= 0, got {args.simulations}")
        budget["num_simulations"] = args.simulations
    evaluate = evaluator(game, best.apply_fn, best.params)
    desc = f"the best net of {args.checkpoint} (iteration {best.iteration}"
    if budget["num_simulations"] == 0:
        return desc + ", raw policy)", policy_player(game, best.apply_fn, best.params), evaluate
    search = make_search(best.config.selfplay.search, game, best.apply_fn, SearchBudget(**budget, gumbel_scale=0.0))
    return desc + f", {budget['num_simulations']} simulations)", search_player(search, best.params), evaluate


class _Input:
    """Lines from stdin; None at the end of the input."""

    def __init__(self, stream):
        self.stream = stream

    def ask(self, prompt: str) -> str | None:
        print(prompt, end="", flush=True)
        line = self.stream.readline()
        if not line:
            print()
            return None
        return line.strip()


def _read_move(inp, game, host, moves: dict, board_text):
    """The human's decision: (action id, its string, follow-ups), or None to stop."""
    from jaxzero.games.ringrift.parity.notation import check_move_syntax, parse_move_first
    from jaxzero.games.ringrift.state import PHASE_NAMES

    names = sorted(moves)
    while True:
        line = inp.ask(f"your move ({PHASE_NAMES[int(host['phase'])]}; ? for the legal moves)> ")
        if line is None or line in ("quit", "exit", "q"):
            return None
        if not line:
            continue
        if line in ("?", "legal"):
            for i, m in enumerate(names, 1):
                print(f"  {i:3d}. {m}")
            continue
        if line == "board":
            print(board_text)
            continue
        if line.isdigit():
            k = int(line)
            if not 1 <= k <= len(names):
                print(f"refused: there are {len(names)} legal moves; {k} is not one of 1..{len(names)}")
                continue
            return moves[names[k - 1]], names[k - 1], []
        try:
            check_move_syntax(game.cfg, line)
            action, followups = parse_move_first(game.cfg, host, line, moves)
        except ValueError as e:
            print(f"refused: {e}")
            continue
        return action, line, followups


def _values_line(v) -> str:
    return "  ".join(f"seat {i + 1} {x:+.2f}" for i, x in enumerate(v))


def play(args, game, opponent, inp) -> int:
    import jax
    import numpy as np

    from jaxzero.games.ringrift.parity.notation import legal_move_map, resolve_followup
    from jaxzero.games.ringrift.render import SEAT_NAMES, render_svg, render_text
    from jaxzero.replays import host_state, move_name

    desc, player, evaluate = opponent
    key = jax.random.PRNGKey(args.seed)
    state = game.init(key)
    me = args.seat - 1
    print(f"{game.id}: you are player {args.seat} ({SEAT_NAMES[me]}) against {desc}")
    svg_dir = Path(args.svg) if args.svg else None
    if svg_dir:
        svg_dir.mkdir(parents=True, exist_ok=True)
    last, followups, t = None, [], 0
    while True:
        host = host_state(state)
        text = render_text(host, last_move=last)
        print()
        print(text)
        if svg_dir:
            (svg_dir / f"position_{t:03d}.svg").write_text(render_svg(host, last_move=last, title=f"position {t}"))
        if bool(host["terminated"]) or bool(host["truncated"]):
            rewards = np.asarray(host["rewards"])
            if bool(host["truncated"]):
                print(f"game truncated after {int(host['move_count'])} moves (no result)")
            else:
                mine = float(rewards[me])
                verdict = "you win" if mine == rewards.max() and mine > rewards.min() else (
                    "you lose" if mine < rewards.max() else "a draw")
                print(f"game over: {verdict} (your reward {mine:+.2f})")
            return 0
        mover = int(host["current_player"])
        mask = host["legal_action_mask"]
        if mover == me:
            action = None
            while followups and action is None:  # the rest of a recovery move typed in full
                a = resolve_followup(game.cfg, host, followups.pop(0))
                if a is not None and mask[a]:
                    action, name = a, move_name(game, host, a)
                    print(f"you play (the rest of your move): {name}")
            if action is None:
                moves = legal_move_map(game.cfg, host, mask)
                got = _read_move(inp, game, host, moves, text)
                if got is None:
                    print("stopped: no more input")
                    return 0
                action, name, followups = got
        else:
            followups = []
            if evaluate is not None:
                v, pol = evaluate(state)
                if game.num_players == 2 and bool(host["swapped"]):
                    v = v[::-1]
                top = np.argsort(-pol, kind="stable")[:3]
                print(f"net's value: {_values_line(v)}")
                print("net's top moves: " + ", ".join(f"{move_name(game, host, a)} {pol[a]:.0%}" for a in top
                                                      if pol[a] > 0))
            key, k = jax.random.split(key)
            action = int(np.asarray(player(jax.tree.map(lambda x: x[None], state), k))[0])
            name = move_name(game, host, action)
            print(f"player {mover + 1} ({desc.split(' (')[0]}) plays: {name}")
        swapped_before = bool(host["swapped"])
        state = game.step_checked(state, action)  # an illegal id (a bad player) stops with a clear error
        if game.num_players == 2 and bool(state.swapped) and not swapped_before:
            print("the pie rule: the players swapped seats")
        last, t = name, t + 1


def main(argv=None) -> int:
    args, rest = parser().parse_known_args(argv)
    if not args.checkpoint and not args.player:
        raise cli.UserError("choose an opponent: --checkpoint DIR or --player heuristic|random")
    if rest and args.checkpoint:
        raise cli.UserError(f"unrecognised arguments {rest} (config overrides go with --player)")
    paths.enable_compilation_cache()
    game, cfg, best = _game_and_config(args, rest)
    return play(args, game, _opponent(args, game, cfg, best), _Input(sys.stdin))


if __name__ == "__main__":
    sys.exit(cli.run_main(main))
