"""A run stopped after an iteration and resumed from its checkpoint continues exactly as the
uninterrupted run with the same seed: same metrics (all but timings), same parameters."""

import json

import jax
import numpy as np
import pytest

from jaxzero import cli, loop
from tests.helpers import deterministic_row, final_state, metrics_rows

# "carried": the gate's own rule (iteration 0 promotes, then the best stays: its anchor results are
# carried over the resume); "promoting": every candidate is promoted, so the anchors play the
# earlier bests saved with the checkpoint after the resume, and the candidates are a moving average of
# the weights (train.params_ema), whose state must carry over the resume too
GATES = {"carried": [], "promoting": ["--config.arena.gate=threshold", "--config.arena.promotion_threshold=0.0",
                                      "--config.train.params_ema=0.9"]}


def _cfg(iterations: int, gate: str = "carried"):
    # small windows (8 moves of 16 slots, games of up to 9 moves) so games run across windows, and a
    # buffer that wraps (capacity 160 < 3 x 14 x 8 rows): both must carry over a resume
    return cli.load_config("tictactoe", GATES[gate] + [
        f"--config.loop.num_iterations={iterations}", "--config.selfplay.batch_size=16",
        "--config.selfplay.num_steps=8", "--config.selfplay.chunk_steps=4", "--config.selfplay.holdout_slots=2",
        "--config.selfplay.num_simulations=8", "--config.replay.capacity=160", "--config.train.batch_size=32",
        "--config.train.steps_per_iteration=3", "--config.arena.num_games=4", "--config.arena.vs_random_games=4",
        "--config.elo.heuristic_games=4", "--config.elo.anchor_games=4", "--config.elo.num_games=4",
        "--config.elo.plot=false", "--config.loop.plots=false",
    ])


@pytest.mark.slow
@pytest.mark.parametrize("gate", sorted(GATES))
def test_a_stopped_and_resumed_run_equals_the_uninterrupted_run(tmp_path, gate):
    whole, split = tmp_path / "whole", tmp_path / "split"
    log = []
    loop.Loop(_cfg(3, gate), whole, progress=False, log=log.append).run()
    first = loop.Loop(_cfg(1, gate), split, progress=False, log=log.append).run()
    assert [r["iteration"] for r in first] == [0]
    resumed_log = []
    # a fresh Loop on the workdir: what a new process sees
    rest = loop.Loop(_cfg(3, gate), split, progress=False, log=resumed_log.append).run()
    assert [r["iteration"] for r in rest] == [1, 2]
    assert "resuming from checkpoint of iteration 0" in resumed_log[0]
    assert not [x for x in resumed_log if x.startswith("WARNING")], resumed_log

    rows_whole, rows_split = metrics_rows(whole), metrics_rows(split)
    assert [r["iteration"] for r in rows_whole] == [r["iteration"] for r in rows_split] == [0, 1, 2]
    for a, b in zip(rows_whole, rows_split):
        da, db = deterministic_row(a), deterministic_row(b)
        assert da == db, {k: (da.get(k), db.get(k)) for k in set(da) | set(db) if da.get(k) != db.get(k)}
    # games ran across windows and the buffer wrapped: the resume had running games and a full buffer to keep
    assert rows_whole[-1]["value_targets_late"] > 0 and rows_whole[-1]["buffer_size"] == 160
    assert rows_whole[-1]["buffer/policy_dropped"] == 0.0  # K = max_legal_actions slots hold every target
    if gate == "carried":  # the best of iteration 0 kept its anchor results (not re-played after the resume)
        assert [r["promoted"] for r in rows_whole] == [True, False, False], rows_whole
        assert [r["vs_random/measured_at"] for r in rows_split] == [0, 0, 0]
    else:  # after the resume the new bests played the earlier ones
        assert all(r["promoted"] for r in rows_whole)
        assert "vs_best/it0/score" in rows_split[2] and "vs_best/init/score" in rows_split[1]

    lp = loop.Loop(_cfg(3, gate), whole, progress=False, log=log.append)
    it_w, state_w = final_state(whole, lp)
    it_s, state_s = final_state(split, lp)
    assert it_w == it_s == 2
    jax.tree.map(np.testing.assert_array_equal, state_w, state_s)  # params, optimizer state, best, key
    if gate == "promoting":  # the promoted best is the average the optimizer keeps, not the raw params
        from jaxzero.train import ParamsEmaState

        ema = next(x for x in state_w["opt_state"] if isinstance(x, ParamsEmaState)).ema
        jax.tree.map(np.testing.assert_array_equal, state_w["best"], ema)
        assert not all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(ema), jax.tree.leaves(state_w["candidate"])))
    assert json.loads((whole / "elo.json").read_text()) == json.loads((split / "elo.json").read_text())
