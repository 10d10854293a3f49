"""SIGKILL scripts/train.py at >= 20 random points of a run (startup, self-play, training, arena,
checkpoint and metrics writes), resume each time, and end with the metrics, parameters and Elo
table of the uninterrupted run.

A process's first iteration holds its compiles (tens of seconds here), the later ones take a second
or two, so a kill at a uniformly random time would land in a compile or skip whole iterations. The
kill points are drawn per restart from a seeded RNG instead: a phase of the process's first
iteration (or its startup, the restore), uniformly, then a time inside it, uniform over that phase's
duration in the uninterrupted run's first iteration. ``JAXZERO_DEBUG_PHASES=1`` makes the loop print
``PHASE <name> <iteration>`` as each phase starts; the phase a kill hit is the last line printed.
A kill in the metrics phase comes after the iteration's checkpoint committed, so the run progresses;
when one iteration is left, the kill point is drawn before its checkpoint write and comes at the
latest as that write starts (the run must not finish before the 20th kill). After the kills the
same command runs to the end.
"""

import json
import os
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
from tests.helpers import deterministic_row, final_state, metrics_rows

ROOT = Path(__file__).resolve().parent.parent
ITERATIONS = 8
PHASES = ("selfplay", "train", "arena", "checkpoint", "metrics")  # as run.py prints them
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
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            item = (time.time(), line.rstrip("\n"))
            self.lines.append(item)

    def wait_phase(self, n: int, timeout: float = 600) -> float | None:
        """The arrival time of the ``n``-th PHASE line (1-based); None if the process ended first."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            times = [t for t, line in list(self.lines) if line.startswith("PHASE ")]
            if len(times) >= n:
                return times[n - 1]
            if self.proc.poll() is not None:
                self.reader.join(timeout=30)
                times = [t for t, line in list(self.lines) if line.startswith("PHASE ")]
                return times[n - 1] if len(times) >= n else None
            time.sleep(0.01)
        raise AssertionError(f"PHASE line {n} not printed within {timeout}s: {self.text()}")

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
    """The newest committed checkpoint's iteration, -1 for none (orbax commits a step by renaming its
    temporary directory to the step number; read from the listing: opening a Checkpointer here would
    start orbax's own clean-up of the temporary directories, racing the next process's)."""
    ckdir = workdir / "checkpoints"
    steps = [int(d.name) for d in ckdir.iterdir() if d.name.isdigit()] if ckdir.exists() else []
    return max(steps, default=-1)


def _final_state(workdir: Path):
    lp = loop.Loop(cli.load_config("tictactoe", OVERRIDES), workdir, progress=False, log=lambda s: None)
    return final_state(workdir, lp)


@pytest.mark.extended
@pytest.mark.timeout(3600)  # ~22 processes of ~40 s each at load ~10 on the 2-core dev VM
def test_twenty_random_kills_resume_to_the_uninterrupted_run(tmp_path):
    t_test = time.time()
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    whole.mkdir()
    killed.mkdir()
    ref = Proc(whole)
    assert ref.finish() == 0, ref.text()
    # the phases of the uninterrupted run's first iteration: (start, end) after the process started
    marks = [(t - ref.t0, line) for t, line in ref.lines if line.startswith(("PHASE ", "it   0"))]
    starts = {line.split()[1]: t for t, line in marks if line.endswith(" 0") and line.startswith("PHASE ")}
    ends = [starts[p] for p in PHASES[1:]] + [next(t for t, line in marks if line.startswith("it   0"))]
    duration = {"startup": starts[PHASES[0]]} | {p: e - starts[p] for p, e in zip(PHASES, ends)}

    rng = random.Random(24)
    kills, resumed_from = [], []
    while len(kills) < KILLS:
        before = _committed(killed)
        assert before < ITERATIONS - 1, f"the run finished after {len(kills)} kills: {kills}"
        # the last iteration: kill before its checkpoint write starts (at the latest as it starts)
        last_one = before == ITERATIONS - 2
        target = rng.choice(("startup",) + (PHASES[:3] if last_one else PHASES))
        p = Proc(killed)
        at = p.t0 if target == "startup" else p.wait_phase(PHASES.index(target) + 1)
        assert at is not None, p.text()
        delay = rng.uniform(0, duration[target])
        while time.time() < at + delay and p.proc.poll() is None:
            if last_one and p.phase() == f"checkpoint {ITERATIONS - 1}":
                break
            time.sleep(0.005)
        p.proc.send_signal(signal.SIGKILL)
        rc = p.finish(timeout=60)
        text = p.text()
        if before >= 0 and p.phase() != "startup":  # it resumed from the last committed checkpoint, not from scratch
            assert f"resuming from checkpoint of iteration {before} in {killed / 'checkpoints'}" in text, text
            resumed_from.append(before)
        assert not [x for x in text if x.startswith("WARNING")], text  # an exact resume
        assert rc == -signal.SIGKILL, (rc, text)
        kills.append({"target": target, "delay_s": round(delay, 2), "phase": p.phase(), "committed_before": before,
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
    assert last >= 1, kills  # the killed run progressed over the kills

    rows_whole, rows_killed = metrics_rows(whole), metrics_rows(killed)
    assert [r["iteration"] for r in rows_killed] == list(range(ITERATIONS))  # one row each, none twice
    assert [r["iteration"] for r in rows_whole] == list(range(ITERATIONS))
    for a, b in zip(rows_whole, rows_killed):
        da, db = deterministic_row(a), deterministic_row(b)
        assert da == db, {k: (da.get(k), db.get(k)) for k in set(da) | set(db) if da.get(k) != db.get(k)}
    it_w, state_w = _final_state(whole)
    it_k, state_k = _final_state(killed)
    assert it_w == it_k == ITERATIONS - 1
    jax.tree.map(np.testing.assert_array_equal, state_w, state_k)  # params, optimizer state, best, key
    assert json.loads((whole / "elo.json").read_text()) == json.loads((killed / "elo.json").read_text())
