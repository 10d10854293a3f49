"""Arena: seats swapped with shared openings, scores and confidence intervals, search beats random."""

import jax
import numpy as np
import pytest

from jaxzero.arena import Arena
from jaxzero.match import wilson_interval
from jaxzero.config import default_config
from jaxzero.games.registry import make_game
from jaxzero.nn import make_model


def test_wilson_interval():
    lo, hi = wilson_interval(0.5, 100)
    assert lo == pytest.approx(0.4038, abs=1e-3) and hi == pytest.approx(0.5962, abs=1e-3)
    lo, hi = wilson_interval(1.0, 100)
    assert lo == pytest.approx(0.963, abs=1e-3) and hi == pytest.approx(1.0)
    lo, hi = wilson_interval(0.0, 10)
    assert lo == 0.0 and 0.2 < hi < 0.35


@pytest.fixture(scope="module")
def arena():
    game = make_game("tic_tac_toe")
    cfg = default_config()
    cfg.net.num_blocks, cfg.net.channels, cfg.net.value_hidden = 1, 8, 16
    model, params = make_model(cfg.net, game, 0)
    _, other = make_model(cfg.net, game, 1)
    return Arena(game, model.apply, num_simulations=32, max_num_considered_actions=9, opening_moves=1, max_moves=9), params, other


def test_same_net_both_seats_scores_exactly_half(arena):
    a, params, _ = arena
    # Deterministic search, shared opening per pair of games, seats swapped: each pair's two games are
    # the same game with the colours exchanged, so the pair scores exactly 1 between them.
    out = a.match(params, params, jax.random.key(0), 32)
    per_game = np.array(out["per_game"])
    np.testing.assert_allclose(per_game[0::2] + per_game[1::2], 1.0)
    assert out["score"] == 0.5 and out["games"] == 32
    assert out["ci_low"] < 0.5 < out["ci_high"]


def test_candidate_vs_other_net_is_symmetric(arena):
    a, p, q = arena
    # Swapping who is "candidate" with the same key plays the same games, with the seats of each pair
    # exchanged: game 2g of one match is game 2g+1 of the other, with the score complemented.
    s1 = np.array(a.match(p, q, jax.random.key(3), 32)["per_game"])
    s2 = np.array(a.match(q, p, jax.random.key(3), 32)["per_game"])
    np.testing.assert_allclose(s1[0::2] + s2[1::2], 1.0)
    np.testing.assert_allclose(s1[1::2] + s2[0::2], 1.0)


def test_search_beats_random_raw_policy_does_not(arena):
    a, params, _ = arena
    out = a.vs_random(params, jax.random.key(0), 64)
    raw = a.vs_random_raw_policy(params, jax.random.key(0), 64)
    # an untrained net: search alone (32 simulations, exact terminal values) beats uniform random
    assert out["score"] > 0.7 and out["truncated"] == 0
    assert out["score"] > raw["score"] + 0.1
    assert len(out["seat_scores"]) == 2


def test_arena_command_search_kinds(capsys):
    """scripts/arena.py plays max^n vs paranoid over one fresh network and prints the summary line."""
    import importlib.util
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("arena_script", root / "scripts" / "arena.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    argv = ["--config", str(root / "configs" / "tictactoe.py"), "--a", "maxn", "--b", "paranoid", "--games", "6",
            "--simulations", "2", "--considered", "2", "--opening-moves", "2", "--chunk", "9", "--json"]
    assert script.main(argv) == 0
    out = capsys.readouterr().out.strip().splitlines()
    m = re.fullmatch(r"arena: a=maxn b=paranoid games=6 score=(\S+) ci_low=(\S+) ci_high=(\S+)", out[-1])
    assert m, out[-1]
    score, lo, hi = map(float, m.groups())
    assert 0.0 <= lo <= score <= hi <= 1.0
    import json

    r = json.loads(out[-2])
    assert r["num_simulations"] == 2 and r["opening_moves"] == 2 and r["truncated"] == 0
    assert len(r["seat_scores"]) == 2 and r["network"].startswith("fresh 1x16 net")
    assert r["score"] == pytest.approx(sum(r["seat_scores"]) / 2)
    assert m.group(1) == f"{r['score']:.4f}"  # the summary line prints the same score


def test_arena_command_gives_side_b_its_own_search_budget(capsys):
    """--b-simulations / --b-considered set B's budget only: a 2-simulation B loses to a 32-simulation A
    sharing its network, and the JSON names both budgets."""
    import importlib.util
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("arena_script", root / "scripts" / "arena.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    argv = ["--config", str(root / "configs" / "tictactoe.py"), "--a", "mctx", "--b", "mctx", "--games", "40",
            "--simulations", "32", "--considered", "9", "--b-simulations", "2", "--b-considered", "2",
            "--opening-moves", "1", "--chunk", "9", "--json"]
    assert script.main(argv) == 0
    out = capsys.readouterr().out.strip().splitlines()
    r = json.loads(out[-2])
    assert (r["num_simulations"], r["max_num_considered_actions"]) == (32, 9)
    assert (r["b_num_simulations"], r["b_max_num_considered_actions"]) == (2, 2)
    assert "(B: 2 / 2)" in out[-4]
    assert r["ci_low"] > 0.5, r


def test_arena_command_refuses_a_value_prior_without_an_evaluation():
    """--prior-weight mixes the game's hand-written evaluation into a search's leaf values: a game without
    one (tic-tac-toe) and a weight outside [0, 1] are user errors naming the flag."""
    import importlib.util
    from pathlib import Path

    from jaxzero import cli

    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("arena_script", root / "scripts" / "arena.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    argv = ["--config", str(root / "configs" / "tictactoe.py"), "--a", "mctx", "--b", "random", "--games", "2",
            "--simulations", "2", "--considered", "2"]
    with pytest.raises(cli.UserError, match="--prior-weight needs a game with a hand-written evaluation"):
        script.main(argv + ["--prior-weight", "0.5"])
    with pytest.raises(cli.UserError, match="--prior-weight and --b-prior-weight must be in"):
        script.main(argv + ["--b-prior-weight", "1.5"])
