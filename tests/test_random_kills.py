"""SIGKILL scripts/train.py at >= 20 random points of a run (self-play, training, arena, checkpoint and
metrics writes), resume each time, and end with the metrics and parameters of the uninterrupted run.

The kill times are drawn from a seeded RNG: each restarted process is killed a random delay after
its loop prints its first phase line (``JAXZERO_DEBUG_PHASES=1``: ``PHASE <name> <iteration>``), drawn
uniformly up to 1.3 x the time the uninterrupted run took from its first phase line to the end of
iteration 0 (an iteration with the compiles, as every restarted process has). So most kills land in
a process's first iteration and some after it committed one (the run progresses). The phase a kill
hit is the last phase line the process printed.
"""

import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import jax
import numpy as np
import pytest

from jaxzero import cli, loop
from jaxzero.checkpoint import Checkpointer
from tests.test_exact_resume import _deterministic

ROOT = Path(__file__).resolve().parent.parent
ITERATIONS = 10
KILLS = 20
# the exact-resume test's small tic-tac-toe run: games run across windows, the buffer wraps
OVERRIDES = [
    f"--config.loop.num_iterations={ITERATIONS}", "--config.selfplay.batch_size=16", "--config.selfplay.num_steps=8",
    "--config.selfplay.chunk_steps=4", "--config.selfplay.holdout_slots=2", "--config.selfplay.num_simulations=8",
    "--config.replay.capacity=160", "--config.train.batch_size=32", "--config.train.steps_per_iteration=3",
    "--config.arena.num_games=4", "--config.arena.vs_random_games=4", "--config.elo.heuristic_games=4",
    "--config.elo.anchor_games=4", "--config.elo.num_games=4", "--config.elo.plot=false", "--config.loop.plots=false",
    "--config.arena.gate=threshold", "--config.arena.promotion_threshold=0.0",  # every iteration promotes: anchors play
]


class Proc:
    """scripts/train.py on a workdir, its stdout lines collected with their arrival times."""

    def __init__(self, workdir: Path):
        env = dict(os.environ, JAXZERO_DEBUG_PHASES="1")
        env.pop("JAXZERO_DEBUG_PAUSE", None)
        self.t0 = time.time()
        self.proc = subprocess.Popen(
            [sys.executable, "scripts/train.py", "--config=tictactoe", *OVERRIDES, "--no_progress", f"--workdir={workdir}"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
            stderr=open(workdir.parent / f"stderr-{workdir.name}-{self.t0:.3f}.log", "w"),
        )
        self.lines: list[tuple[float, str]] = []
        self.new: queue.Queue = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            item = (time.time(), line.rstrip("\n"))
            self.lines.append(item)
            self.new.put(item)

    def wait_line(self, prefix: str, timeout: float = 600) -> float | None:
        """The arrival time of the first line starting with ``prefix``; None if the process ended first."""
        deadline = time.time() + timeout
        for t, line in list(self.lines):
            if line.startswith(prefix):
                return t
        while time.time() < deadline:
            try:
                t, line = self.new.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None and self.new.empty():
                    return None
                continue
            if line.startswith(prefix):
                return t
        raise AssertionError(f"{prefix!r} not printed within {timeout}s: {self.text()}")

    def finish(self, timeout: float = 900) -> int:
        rc = self.proc.wait(timeout=timeout)
        self.reader.join(timeout=30)
        return rc

    def text(self) -> list[str]:
        return [line for _, line in self.lines]

    def phase(self) -> str:
        """The last phase line printed (``selfplay 3``), or ``startup``."""
        phases = [line[6:] for line in self.text() if line.startswith("PHASE ")]
        return phases[-1] if phases else "startup"


def _committed(workdir: Path) -> int:
    """The newest committed checkpoint's iteration, -1 for none."""
    if not (workdir / "checkpoints").exists():
        return -1
    ck = Checkpointer(workdir / "checkpoints")
    try:
        latest = ck.latest_iteration()
    finally:
        ck.close()
    return -1 if latest is None else latest


def _rows(workdir: Path) -> list[dict]:
    return [json.loads(x) for x in (workdir / "metrics.jsonl").read_text().splitlines()]


def _final_state(workdir: Path):
    lp = loop.Loop(cli.load_config("tictactoe", OVERRIDES), workdir, progress=False, log=lambda s: None)
    ck = Checkpointer(workdir / "checkpoints")
    try:
        it = ck.latest_iteration()
        state, _, _ = ck.restore(it, jax.eval_shape(lp.initial_state))
    finally:
        ck.close()
    return it, state


@pytest.mark.extended
def test_twenty_random_kills_resume_to_the_uninterrupted_run(tmp_path):
    t_test = time.time()
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    whole.mkdir()
    killed.mkdir()
    ref = Proc(whole)
    assert ref.finish() == 0, ref.text()
    first = ref.wait_line("PHASE ")
    it0 = ref.wait_line("it   0")
    span = 1.3 * (it0 - first)

    rng = random.Random(24)
    kills, resumed_from = [], []
    while len(kills) < KILLS:
        before = _committed(killed)
        assert before < ITERATIONS - 1, f"the run finished after {len(kills)} kills: {kills}"
        p = Proc(killed)
        start = p.wait_line("PHASE ")
        assert start is not None, p.text()
        delay = rng.uniform(0, span)
        while time.time() < start + delay and p.proc.poll() is None:
            time.sleep(0.01)
        p.proc.send_signal(signal.SIGKILL)
        rc = p.finish(timeout=60)
        text = p.text()
        if before >= 0:  # it resumed from the last committed checkpoint (not from scratch)
            assert f"resuming from checkpoint of iteration {before} in {killed / 'checkpoints'}" in text, text
            resumed_from.append(before)
        assert not [x for x in text if x.startswith("WARNING")], text  # an exact resume
        if rc == -signal.SIGKILL:
            kills.append({"delay_s": round(delay, 2), "phase": p.phase(), "committed_before": before,
                          "committed_after": _committed(killed)})
    # the same command once more, left alone: it resumes and finishes
    last = _committed(killed)
    p = Proc(killed)
    assert p.finish() == 0, p.text()
    assert f"resuming from checkpoint of iteration {last} in {killed / 'checkpoints'}" in p.text() or last < 0

    by_phase = Counter(k["phase"].split()[0] for k in kills)
    print(f"\n{len(kills)} kills in {time.time() - t_test:.0f}s, per phase {dict(by_phase)}, "
          f"resumed from iterations {resumed_from}")
    for k in kills:
        print(k)
    assert {"selfplay", "train", "arena"} <= set(by_phase), by_phase
    assert {"checkpoint", "metrics"} & set(by_phase), by_phase  # a kill while the iteration's files were written

    rows_whole, rows_killed = _rows(whole), _rows(killed)
    assert [r["iteration"] for r in rows_killed] == list(range(ITERATIONS))  # one row each, none twice
    assert [r["iteration"] for r in rows_whole] == list(range(ITERATIONS))
    for a, b in zip(rows_whole, rows_killed):
        da, db = _deterministic(a), _deterministic(b)
        assert da == db, {k: (da.get(k), db.get(k)) for k in set(da) | set(db) if da.get(k) != db.get(k)}
    it_w, state_w = _final_state(whole)
    it_k, state_k = _final_state(killed)
    assert it_w == it_k == ITERATIONS - 1
    jax.tree.map(np.testing.assert_array_equal, state_w, state_k)  # params, optimizer state, best, key
    assert json.loads((whole / "elo.json").read_text()) == json.loads((killed / "elo.json").read_text())
