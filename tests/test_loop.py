"""The whole closed loop on tic-tac-toe: learns to beat random, checkpoints, resumes at the next iteration."""

import importlib.util
import json
import time
from pathlib import Path

import pytest

from jaxzero import loop
from jaxzero.checkpoint import Checkpointer, ConfigMismatchError

ROOT = Path(__file__).resolve().parent.parent


def load_config(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "configs" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.get_config()


@pytest.mark.slow
def test_full_loop_learns_checkpoints_and_resumes(tmp_path):
    cfg = load_config("tictactoe")
    assert cfg.loop.num_iterations >= 2 and cfg.arena.vs_random_games >= 100
    logs = []
    t0, c0 = time.time(), time.process_time()
    rows = loop.run(cfg, tmp_path, progress=False, log=logs.append)
    wall, cpu = time.time() - t0, time.process_time() - c0
    # < 3 minutes on a 2-core CPU; bounded by CPU time (2 cores x 180 s) so other load on a shared
    # machine does not make it flaky
    assert cpu < 2 * 180, f"2 iterations took {cpu:.0f}s of CPU time ({wall:.0f}s wall)"
    print(f"loop: 2 iterations in {wall:.0f}s wall, {cpu:.0f}s CPU")
    assert [r["iteration"] for r in rows] == [0, 1]
    assert len(logs) == 2 and all(line.startswith("it ") for line in logs)

    # metrics.jsonl: one object per iteration with the documented keys
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in lines] == [0, 1]
    for key in loop.METRIC_KEYS:
        assert key in lines[-1], key
    assert lines[-1]["positions"] > 0 and lines[-1]["games"] > 0
    # memory per iteration (the soak's reading) and the previous iteration's checkpoint save time
    assert 0 < lines[0]["rss_mib"] <= lines[-1]["rss_peak_mib"]
    # the bytes of the live JAX arrays (the run state, the replay buffer), beside RSS
    assert lines[-1]["live_arrays_mib"] > 0
    assert "previous_checkpoint_seconds" not in lines[0] and lines[1]["previous_checkpoint_seconds"] >= 0
    # arena ran every iteration with a confidence interval around the score
    for r in lines:
        assert r["arena/games"] == cfg.arena.num_games
        assert r["arena/ci_low"] <= r["arena/score"] <= r["arena/ci_high"]
    # the best model beats uniform random: >= 0.9 over >= 100 games, seats swapped
    assert lines[-1]["vs_random/games"] >= 100
    assert lines[-1]["vs_random/score"] >= 0.9, lines
    assert list((tmp_path / "tb").glob("events.out.tfevents*"))

    # Elo ladder: anchors (uniform random = 0 Elo, the generic greedy heuristic) with confidence
    # intervals, the best's rating every iteration, and elo.png with one curve for this run
    for r in lines:
        for key in loop.HEURISTIC_METRIC_KEYS:
            assert isinstance(r[key], float), (key, r)
        assert r["vs_heuristic/ci_low"] <= r["vs_heuristic/score"] <= r["vs_heuristic/ci_high"]
        assert 0.0 <= r["vs_heuristic/win_share"] <= r["vs_heuristic/score"]  # draws score 0.5, win nothing
        assert r["vs_random/ci_low"] <= r["vs_random/score"] <= r["vs_random/ci_high"]
        assert isinstance(r["elo"], float) and r["elo/anchor"] == "random" and r["game"] == "tic_tac_toe"
        assert r["gate/decision"] == "promoted" or r["gate/decision"].startswith("kept")
    # a best that beats random >= 0.9 is rated well above it
    assert lines[-1]["elo"] > 200, lines[-1]["elo"]
    assert (tmp_path / "elo.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "plots.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # config.loop.plots
    assert not (tmp_path / "games").exists()  # sample games are RingRift's (replayer, records): skipped here
    from jaxzero.elo import plot_elo, read_metrics

    assert plot_elo({"this run": read_metrics(tmp_path)}, tmp_path / "check.png") == ["this run"]
    elo_table = json.loads((tmp_path / "elo.json").read_text())
    assert elo_table["game"] == "tic_tac_toe" and elo_table["anchor"] == "random"

    # checkpoints written; resume continues at the next iteration with the saved state
    ck = Checkpointer(tmp_path / "checkpoints")
    assert ck.latest_iteration() == 1
    ck.close()
    cfg.loop.num_iterations = 3
    logs2 = []
    rows2 = loop.run(cfg, tmp_path, progress=False, log=logs2.append)
    assert [r["iteration"] for r in rows2] == [2]
    assert "resuming from checkpoint of iteration 1" in logs2[0]
    assert rows2[0]["train_step"] == 3 * cfg.train.steps_per_iteration  # optimizer step count carried over
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in lines] == [0, 1, 2]

    # the same workdir under another network shape is refused, naming the key
    cfg.net.channels = 8
    with pytest.raises(ConfigMismatchError, match="net.channels: 16 -> 8"):
        loop.run(cfg, tmp_path, progress=False, log=logs2.append)
    ck = Checkpointer(tmp_path / "checkpoints")
    assert ck.latest_iteration() == 2
    ck.close()


def test_resume_reuses_the_compiled_functions(tmp_path):
    """Restored arrays must look like fresh ones to jit: a resumed loop (same Loop object) traces
    nothing again -- for RingRift a retrace of self-play and the arena costs minutes. The best's
    anchor scores are measured when it changes, else carried over (a resume included)."""
    cfg = load_config("tictactoe")
    cfg.loop.num_iterations = 1
    cfg.selfplay.batch_size, cfg.selfplay.num_steps, cfg.selfplay.chunk_steps = 8, 8, 8
    cfg.selfplay.holdout_slots = 2
    cfg.train.steps_per_iteration = 2
    cfg.arena.num_games, cfg.arena.vs_random_games = 4, 4
    cfg.elo.heuristic_games, cfg.elo.anchor_games, cfg.elo.num_games = 0, 0, 2
    lp = loop.Loop(cfg, tmp_path, progress=False, log=lambda s: None)

    def cache_sizes():
        p = lp.parts
        fns = [p.selfplay.play, p.train_step, p.evaluate, p.arena._vs_net, p.arena._vs_random]
        return [f._cache_size() for f in fns]

    (row0,) = lp.run()
    assert cache_sizes() == [1] * 5
    cfg.loop.num_iterations = 3
    rows = lp.run()
    assert [r["iteration"] for r in rows] == [1, 2]  # restored from the checkpoint of iteration 0
    assert cache_sizes() == [1] * 5  # the restored buffer and game slots included
    for before, row in zip([row0] + rows, rows):
        if row["promoted"]:
            assert row["vs_random/measured_at"] == row["iteration"]
        else:  # the same best: its numbers are carried (over the resume too, from the checkpoint), not re-played
            assert row["vs_random/measured_at"] == before["vs_random/measured_at"]
            assert row["vs_random/score"] == before["vs_random/score"]
