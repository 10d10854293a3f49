"""Mixed self-play data, rollback and the promotion gate in the closed loop (tic-tac-toe, tiny budget).

One 3-iteration run (module fixture) serves the acceptance tests: 25% heuristic games (the generic
one-ply greedy player: tic-tac-toe has no game-specific heuristic), and a poisoned self-play batch
(config.debug.poison_iteration = 1, NaN observations) that must roll back to the last good
checkpoint and let training continue from the previous best.
"""

import importlib.util
import json
import time
from pathlib import Path

import jax
import numpy as np
import pytest

from jaxzero import loop
from jaxzero.checkpoint import Checkpointer
from jaxzero.selfplay import SOURCE_HEURISTIC

ROOT = Path(__file__).resolve().parent.parent
SHARE = 0.25


def load_config(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "configs" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.get_config()


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("mixed")
    cfg = load_config("tictactoe")
    cfg.selfplay.num_simulations = 8
    cfg.train.steps_per_iteration = 20
    cfg.arena.num_games = 16
    cfg.arena.vs_random_games = 16
    cfg.elo.heuristic_games = 16
    cfg.elo.num_games = 16
    cfg.elo.anchor_games = 16
    cfg.mix.heuristic_share = SHARE
    cfg.rollback.heuristic_margin = -1.0  # only the NaN rollback here (the other rule is unit-tested)
    cfg.debug.poison_iteration = 1
    cfg.replay.capacity = 8192  # holds every kept position of the run
    cfg.loop.num_iterations = 3
    logs = []
    t0 = time.time()
    lp = loop.Loop(cfg, workdir, progress=False, log=logs.append)
    rows = lp.run()
    print(f"mixed/rollback tic-tac-toe loop: 3 iterations in {time.time() - t0:.0f}s")
    return cfg, workdir, lp, rows, logs


@pytest.mark.slow
def test_quarter_heuristic_games_reach_the_buffer_and_metrics(mixed_run):
    cfg, workdir, lp, rows, _ = mixed_run
    lines = [json.loads(x) for x in (workdir / "metrics.jsonl").read_text().splitlines()]
    buf = jax.device_get(lp.buffer)
    n = int(buf.size)
    src, ids = np.asarray(buf.data.source)[:n], np.asarray(buf.data.game_id)[:n]
    games = np.unique(ids)
    heur_games = np.unique(ids[src == SOURCE_HEURISTIC])
    share = heur_games.size / games.size
    sigma = np.sqrt(SHARE * (1 - SHARE) / games.size)
    assert games.size > 300
    assert abs(share - SHARE) < 4 * sigma, (share, games.size)
    for r in lines:
        assert r["data/heuristic_share_target"] == SHARE
        assert abs(r["data/heuristic_share"] - SHARE) < 4 * np.sqrt(SHARE * (1 - SHARE) / r["data/games_seen"]), r
    # "all" seats: a heuristic game is heuristic throughout, so its positions carry no policy target
    pm = np.asarray(buf.data.policy_mask)[:n]
    assert not pm[src == SOURCE_HEURISTIC].any() and pm[src != SOURCE_HEURISTIC].all()
    assert np.asarray(buf.data.value_mask)[:n][src == SOURCE_HEURISTIC].any()  # value targets from all games
    assert lines[0]["policy_targets"] < lines[0]["positions"]


@pytest.mark.slow
def test_nan_loss_rolls_back_and_training_continues_from_previous_best(mixed_run):
    cfg, workdir, lp, rows, logs = mixed_run
    steps = cfg.train.steps_per_iteration
    lines = [json.loads(x) for x in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in lines] == [0, 1, 2]
    r0, r1, r2 = lines
    assert not r0["rollback"] and np.isfinite(r0["loss/policy"])
    assert r1["rollback"] and "non-finite" in r1["rollback/reason"] and r1["rollback/restored_from"] == 0
    assert not np.isfinite(r1["loss/policy"])
    assert r1["promoted"] is False and r1["arena/score"] is None
    assert r1["train_step"] == steps  # optimizer step count of the last good checkpoint
    assert len(logs) == 3 and "ROLLBACK to the best of iteration 0" in logs[1]  # one log line per iteration
    # iteration 2 trains on from the restored state: finite losses, one more iteration of steps
    assert not r2["rollback"] and np.isfinite(r2["loss/policy"]) and np.isfinite(r2["loss/value"])
    assert r2["train_step"] == 2 * steps
    # the poisoned positions left the buffer again: it holds iterations 0 and 2 only
    assert r2["buffer_size"] == 2 * r0["positions"]
    assert np.all(np.isfinite(np.asarray(lp.buffer.data.obs)))
    # checkpoint 1 holds the previous best as the candidate, with checkpoint 0's optimizer state
    ck = Checkpointer(workdir / "checkpoints")
    try:
        abstract = jax.eval_shape(lp.initial_state)
        s0, _, _ = ck.restore(0, abstract)
        s1, _, _ = ck.restore(1, abstract)
    finally:
        ck.close()
    for a, b in zip(jax.tree.leaves(s1["candidate"]), jax.tree.leaves(s0["best"])):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(jax.tree.leaves(s1["opt_state"]), jax.tree.leaves(s0["opt_state"])):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_gate_decision_and_statistics_logged(mixed_run):
    cfg, workdir, _, _, _ = mixed_run
    for r in [json.loads(x) for x in (workdir / "metrics.jsonl").read_text().splitlines()]:
        assert r["gate/rule"] == "lcb" and r["gate/threshold"] == cfg.arena.promotion_threshold
        if r["rollback"]:
            continue
        assert r["arena/games"] == cfg.arena.num_games
        assert r["arena/ci_low"] <= r["arena/score"] <= r["arena/ci_high"]
        expect = r["arena/score"] >= cfg.arena.promotion_threshold and r["arena/ci_low"] > 0.5
        assert r["promoted"] == expect and (r["gate/decision"] == "promoted") == expect


def test_promotion_gate_needs_threshold_and_lower_bound():
    from jaxzero.match import wilson_interval

    def summary(score, games):
        lo, hi = wilson_interval(score, games)
        return {"score": score, "ci_low": lo, "ci_high": hi, "games": games}

    # 60% over 32 games passes the 55% threshold but not the lower bound (ci_low ~0.42)
    ok, why = loop.promotion_decision(summary(0.6, 32), 0.55, "lcb")
    assert not ok and "ci_low" in why
    ok, _ = loop.promotion_decision(summary(0.6, 32), 0.55, "threshold")
    assert ok
    # the same score over 400 games is significant (ci_low ~0.55)
    ok, why = loop.promotion_decision(summary(0.6, 400), 0.55, "lcb")
    assert ok and why == "promoted"
    # below the threshold nothing promotes, however many games
    ok, why = loop.promotion_decision(summary(0.54, 10000), 0.55, "lcb")
    assert not ok and "threshold" in why
    # continuous training: every candidate becomes the best, the score is only reported
    ok, why = loop.promotion_decision(summary(0.2, 32), 0.55, "always")
    assert ok and "0.200" in why


def test_heuristic_drop_rule():
    assert loop.heuristic_drop(0.40, 0.60, 0.1)
    assert not loop.heuristic_drop(0.55, 0.60, 0.1)
    assert not loop.heuristic_drop(0.10, None, 0.1)  # no previous score yet
    assert not loop.heuristic_drop(0.10, 0.90, -1.0)  # rule off


@pytest.mark.slow
def test_data_quality_metrics(mixed_run):
    cfg, workdir, _, _, logs = mixed_run
    for r in [json.loads(x) for x in (workdir / "metrics.jsonl").read_text().splitlines()]:
        # tic-tac-toe: every game starts from one position and lasts 5..9 moves, so positions repeat
        assert 0.1 < r["data/duplicate_rate"] < 1.0 and r["data/duplicate_warning"]
        assert 5 <= r["data/length/min"] <= r["data/length/mean"] <= r["data/length/max"] <= 9
        assert r["data/length/p50"] <= r["data/length/p90"]
        assert r["data/term/decisive"] + r["data/term/drawn"] + r["data/term/truncated"] == r["data/games_ended"]
        assert r["data/term/truncated"] == 0
        assert r["data/seat0/outcome"] + r["data/seat1/outcome"] == pytest.approx(0.0, abs=1e-9)  # zero-sum
    assert any("duplicates" in x for x in logs)


@pytest.mark.extended  # RingRift compiles (search + one-ply heuristic in self-play and a match): many minutes on CPU
@pytest.mark.timeout(3600)  # > 15 min of compiles at load ~10 on the 2-core dev VM
def test_sq8_tiny_mixed_data_with_the_ringrift_heuristic(tmp_path):
    spec = importlib.util.spec_from_file_location("sq8", ROOT / "configs" / "sq8.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    cfg = mod.get_config("tiny")
    cfg.mix.heuristic_share = 0.5
    cfg.mix.heuristic_seats = "one"
    cfg.elo.heuristic_games = 2
    cfg.elo.anchor_games = 2
    t0 = time.time()
    lp = loop.Loop(cfg, tmp_path, progress=False, log=print)
    assert lp.parts.heuristic_name == "heuristic"  # RingRift's own one-ply greedy player, not the generic one
    rows = lp.run()
    print(f"sq8:tiny mixed loop: 2 iterations in {time.time() - t0:.0f}s")
    assert [r["iteration"] for r in rows] == [0, 1]
    for r in rows:
        assert 0.0 <= r["data/heuristic_share"] <= 1.0 and r["data/heuristic_share_target"] == 0.5
        assert r["vs_heuristic/games"] == 2 and isinstance(r["elo"], float)
    buf = jax.device_get(lp.buffer)
    src = np.asarray(buf.data.source)[: int(buf.size)]
    assert (src == SOURCE_HEURISTIC).any() and (src != SOURCE_HEURISTIC).any()
    assert (tmp_path / "elo.png").exists()
