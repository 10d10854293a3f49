"""scripts/play.py: a whole square8 game typed on stdin against random (slow tier: it compiles the
RingRift step, ~2 minutes on a 2-core CPU), with malformed, off-board, illegal and out-of-range input
refused; the argument errors (no compile) in the fast tier.

Random, not the heuristic, is the opponent of the CI test: the heuristic player compiles a vmapped
step over every legal action on top of the step itself (several more minutes on a 2-core CPU). The
heuristic game is the `extended` test (run by hand)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "play.py"


def _run(args, stdin="", timeout=900):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, str(SCRIPT), *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=env)


def _main(argv):
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import play
    finally:
        sys.path.pop(0)
    from jaxzero import cli

    return cli.run_main(play.main, argv)


@pytest.mark.parametrize("argv, message", [
    ([], "choose an opponent: --checkpoint DIR or --player heuristic|random"),
    (["--player", "random", "--seat", "3"], "--seat must be 1..2, got 3"),
    (["--player", "random", "--config", "hex8", "--board", "square8"], "--board square8, but the config plays hex8"),
    (["--player", "random", "--config", "hex8_3p", "--players", "2"], "--players 2, but the config plays 3"),
    (["--player", "random", "--config", "tictactoe"], "play.py plays RingRift; tic_tac_toe is not a RingRift game"),
    (["--checkpoint", "/nonexistent/run"], "is not a training workdir"),
    (["--player", "random", "--config.selfplay.num_simulationz=3"], "is not a setting"),
])
def test_argument_errors_are_one_line(argv, message, capsys):
    assert _main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def _script(opening: list[str], picks: int = 800) -> str:
    return "\n".join(opening + ["1"] * picks) + "\n"


def _check_game(proc, svg_dir: Path, redrawn: int = 0):
    """redrawn: boards printed again on request (`board`)."""
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr[-3000:]
    positions = len(re.findall(r"^stacks \(rings bottom to top\)", out, flags=re.M))
    svgs = sorted(svg_dir.glob("position_*.svg"))
    assert len(svgs) == positions - redrawn > 20
    for path in (svgs[0], svgs[-1]):
        ET.parse(path)
    assert re.search(r"^game (over: you (win|lose)|over: a draw|truncated)", out, flags=re.M), out[-2000:]
    return out


@pytest.mark.slow
def test_a_whole_game_against_random_from_stdin(tmp_path):
    opening = ["garbage", "place 9,9 x1", "move 0,0>1,1", "0", "", "?", "board", "place 3,3 x2"]
    proc = _run(["--player", "random", "--seed", "1", "--svg", str(tmp_path)], _script(opening))
    out = _check_game(proc, tmp_path, redrawn=1)
    assert "refused: malformed move string 'garbage'" in out
    assert "refused: move 'place 9,9 x1': (9, 9) is not a cell of square8" in out
    assert "refused: move 'move 0,0>1,1' is not legal here (phase ring_placement, 192 legal moves)" in out
    assert "refused: there are 192 legal moves; 0 is not one of 1..192" in out
    assert "    1. place 0,0 x1" in out and "  192. place 7,7 x3" in out
    assert "player 2 (random) plays: " in out
    # the first typed move was played and drawn (bracketed as the last move)
    before_reply = out.split("player 2 (random) plays: ", 1)[0]
    assert "[R2]" in before_reply and "3,3:11" in before_reply
    # the end of the input stops a game cleanly
    proc = _run(["--player", "random"], "place 0,0 x1\n")
    assert proc.returncode == 0 and "stopped: no more input" in proc.stdout


@pytest.mark.extended
def test_a_whole_game_against_the_heuristic_from_stdin(tmp_path):
    proc = _run(["--player", "heuristic", "--seed", "2", "--svg", str(tmp_path)], _script(["nonsense"]), timeout=3000)
    out = _check_game(proc, tmp_path)
    assert "refused: malformed move string 'nonsense'" in out and "player 2 (heuristic) plays: " in out
