"""Bradley-Terry fit: known strengths recovered from synthetic results, anchor at 0, game keys never mix."""

import json

import numpy as np
import pytest

from jaxzero.elo import EloTable, expected_score, fit_bradley_terry, plot_elo


def test_exact_expected_scores_recover_ratings():
    true = {"random": 0.0, "heuristic": 350.0, "gen0": 120.0, "gen3": 600.0}
    names = list(true)
    results = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            results.append((a, b, 1000 * expected_score(true[a], true[b]), 1000))
    elo, se = fit_bradley_terry(results, prior=0.0)
    assert elo["random"] == 0.0 and se["random"] == 0.0
    for k, v in true.items():
        assert elo[k] == pytest.approx(v, abs=0.5), (k, elo)


def test_sampled_results_recover_ratings_within_error():
    rng = np.random.default_rng(0)
    true = {"random": 0.0, "a": -150.0, "b": 200.0, "c": 450.0, "d": 800.0}
    names = list(true)
    results = []
    # a chain of neighbours plus every player vs random, 200 games each (as the loop's ladder plays)
    pairs = [(n, "random") for n in names[1:]] + list(zip(names[1:-1], names[2:]))
    for a, b in pairs:
        wins = rng.binomial(200, expected_score(true[a], true[b]))
        results.append((a, b, float(wins), 200))
    elo, se = fit_bradley_terry(results, prior=1.0)
    for k, v in true.items():
        assert abs(elo[k] - v) < max(4 * se[k], 1.0), (k, elo[k], v, se[k])
    assert elo["d"] > elo["c"] > elo["b"] > elo["random"] > elo["a"]
    assert all(0 < se[k] < 150 for k in names[1:])


def test_perfect_records_stay_finite_and_disconnected_players_are_left_out():
    results = [("best", "random", 100.0, 100), ("x", "y", 5.0, 10)]
    elo, se = fit_bradley_terry(results, prior=1.0)
    assert set(elo) == {"best", "random"}
    assert 600 < elo["best"] < 1500 and np.isfinite(se["best"])
    # a perfect record is pulled further up by more games
    elo2, _ = fit_bradley_terry([("best", "random", 1000.0, 1000)], prior=1.0)
    assert elo2["best"] > elo["best"]
    with pytest.raises(ValueError, match="outside"):
        fit_bradley_terry([("a", "random", 11.0, 10)])


def test_table_is_keyed_by_game_and_trims_on_resume(tmp_path):
    t = EloTable(tmp_path / "elo.json", "tic_tac_toe")
    t.add(0, "gen-1", "random", 60.0, 100)
    t.add(1, "gen0", "gen-1", 40.0, 64)
    t.save()
    t2 = EloTable(tmp_path / "elo.json", "tic_tac_toe")
    assert len(t2.results) == 2 and t2.has_pair("random", "gen-1")
    t2.trim(0)
    assert len(t2.results) == 1
    assert json.loads((tmp_path / "elo.json").read_text())["anchor"] == "random"
    with pytest.raises(ValueError, match="never mix"):
        EloTable(tmp_path / "elo.json", "connect_four")


def test_plot_draws_one_curve_per_run(tmp_path):
    rows1 = [{"iteration": i, "elo": 100.0 * i, "game": "g"} for i in range(3)]
    rows2 = [{"iteration": i, "elo": 50.0 * i, "game": "g"} for i in range(4)]
    out = tmp_path / "elo.png"
    assert plot_elo({"run1": rows1, "run2": rows2}, out) == ["run1", "run2"]
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plot_elo({"run1": rows1}, out) == ["run1"]
    with pytest.raises(ValueError, match="different games"):
        plot_elo({"a": rows1, "b": [{"iteration": 0, "elo": 1.0, "game": "h"}]}, tmp_path / "x.png")
