"""plots.png of a run: drawn from whatever metrics exist, every panel's numbers taken from the rows."""

from __future__ import annotations

import json

import pytest

from jaxzero.plots import plot_run, read_rows, score_keys, series, throughput


def _rows(n=4):
    rows = []
    for i in range(n):
        r = {"iteration": i, "game": "tic_tac_toe", "games": 10 * (i + 1), "positions": 100, "selfplay_seconds": 30.0,
             "train_seconds": 5.0, "arena_seconds": 1.0, "loss/policy": 2.0 - 0.1 * i, "loss/value": float("nan"),
             "policy_accuracy": 0.5, "vs_random/score": 0.6, "vs_random/ci_low": 0.5, "vs_random/ci_high": 0.7,
             "arena/score": None if i == 0 else 0.55, "elo": 50.0 * i, "elo/se": 10.0, "vs_best/bootstrap/score": 0.6}
        if i % 2:
            r.update({"vs_heuristic/score": 0.4, "vs_heuristic/ci_low": 0.3, "vs_heuristic/ci_high": 0.5})
        rows.append(r)
    return rows


def _write(tmp_path, rows, tail=""):
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + tail)


def test_plot_run_writes_a_png(tmp_path):
    _write(tmp_path, _rows(), tail='{"iteration": 4, "gam')  # a line torn by a kill is skipped
    path = plot_run(tmp_path)
    assert path == tmp_path / "plots.png"
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert len(read_rows(tmp_path)) == 4


def test_series_and_keys_follow_the_rows():
    rows = _rows()
    assert series(rows, "loss/value") == ([], [])  # NaN is skipped
    assert series(rows, "arena/score") == ([1, 2, 3], [0.55, 0.55, 0.55])
    assert score_keys(rows) == ["vs_random", "vs_heuristic", "arena", "vs_best/bootstrap"]
    its, games, positions = throughput(rows)
    assert its == [0, 1, 2, 3]
    assert games[0] == pytest.approx(3600 * 10 / 36) and positions[3] == pytest.approx(3600 * 100 / 36)


def test_plot_run_with_few_keys_and_errors(tmp_path):
    _write(tmp_path, [{"iteration": 0, "loss/policy": 1.0}])
    assert plot_run(tmp_path, tmp_path / "other.png").is_file()
    with pytest.raises(FileNotFoundError, match="not a training workdir"):
        plot_run(tmp_path / "missing")
    (tmp_path / "metrics.jsonl").write_text("")
    with pytest.raises(ValueError, match="no complete rows"):
        plot_run(tmp_path)
