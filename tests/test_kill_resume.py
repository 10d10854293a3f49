"""SIGKILL scripts/train.py during self-play and during a checkpoint save; re-running resumes cleanly
and ends as the uninterrupted run does."""

import json
import math
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import jax
import pytest

from jaxzero.checkpoint import Checkpointer

ROOT = Path(__file__).resolve().parent.parent
ARGS = [
    "--config=configs/tictactoe.py",
    "--config.loop.num_iterations=3",
    "--config.train.steps_per_iteration=5",
    "--config.arena.num_games=8",
    "--config.arena.vs_random_games=8",
    "--no_progress",
]


def start(workdir, pause=None):
    env = dict(os.environ)
    env.pop("JAXZERO_DEBUG_PAUSE", None)
    if pause:
        env["JAXZERO_DEBUG_PAUSE"] = pause
    proc = subprocess.Popen(
        [sys.executable, "scripts/train.py", *ARGS, f"--workdir={workdir}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=open(Path(workdir).parent / f"stderr-{time.time()}.log", "w"),
        text=True,
    )
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True)
    reader.start()
    proc.reader = reader
    return proc, lines


def wait_for(lines, marker, timeout=240):
    seen = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        seen.append(line)
        if marker in line:
            return seen
    raise AssertionError(f"{marker!r} not printed within {timeout}s; output: {seen}")


def kill(proc):
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def committed(ckdir):
    ck = Checkpointer(ckdir)
    try:
        return ck.latest_iteration(), ck.all_iterations()
    finally:
        ck.close()


@pytest.mark.slow
def test_sigkill_during_selfplay_and_save_then_resume(tmp_path):
    workdir = tmp_path / "run"
    ckdir = workdir / "checkpoints"

    # 1. killed during the self-play of iteration 1: iteration 0 is complete
    proc, lines = start(workdir, pause="selfplay:1")
    out = wait_for(lines, "DEBUG_PAUSE selfplay 1")
    kill(proc)
    assert any(x.startswith("it   0") for x in out)
    assert committed(ckdir) == (0, [0])

    # 2. re-run; killed in the middle of iteration 1's checkpoint save (written, not committed)
    proc, lines = start(workdir, pause="save:1")
    out = wait_for(lines, "DEBUG_PAUSE save 1")
    kill(proc)
    assert any("resuming from checkpoint of iteration 0" in x for x in out)
    leftovers = [p.name for p in ckdir.iterdir() if p.name not in ("0",)]
    assert leftovers and all("tmp" in name for name in leftovers), leftovers  # the half-written step
    assert committed(ckdir) == (0, [0])
    metrics = [json.loads(x) for x in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert [m["iteration"] for m in metrics] == [0]

    # 3. the same command again: resumes after iteration 0 and finishes
    proc, lines = start(workdir)
    assert proc.wait(timeout=300) == 0
    proc.reader.join(timeout=30)
    out = []
    while not lines.empty():
        out.append(lines.get())
    assert any("resuming from checkpoint of iteration 0" in x for x in out), out
    assert not [x for x in out if x.startswith("WARNING")], out  # the buffer and game slots came back (exact)
    assert [x[:6] for x in out if x.startswith("it ")] == ["it   1", "it   2"]
    latest, steps = committed(ckdir)
    assert latest == 2 and steps == [0, 1, 2]
    assert not [p for p in ckdir.iterdir() if "tmp" in p.name]
    metrics = [json.loads(x) for x in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert [m["iteration"] for m in metrics] == [0, 1, 2]
    # the killed and resumed run equals an uninterrupted one (every metric but the timings)
    whole = tmp_path / "whole"
    proc, _ = start(whole)
    assert proc.wait(timeout=300) == 0
    uninterrupted = [json.loads(x) for x in (whole / "metrics.jsonl").read_text().splitlines()]

    def deterministic(row):
        return {k: ("nan" if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()
                if not k.endswith(("_seconds", "_mib"))}

    assert [deterministic(m) for m in metrics] == [deterministic(m) for m in uninterrupted]
    # every kept checkpoint restores completely (state with optimizer types, config, metrics)
    import importlib.util

    from jaxzero.loop import Loop

    spec = importlib.util.spec_from_file_location("ttt", ROOT / "configs" / "tictactoe.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    cfg = mod.get_config()
    abstract = jax.eval_shape(Loop(cfg, workdir, progress=False).initial_state)
    ck = Checkpointer(ckdir)
    for step in steps:
        state, saved_cfg, saved_metrics = ck.restore(step, abstract)
        assert int(state["iteration"]) == step and saved_metrics["iteration"] == step
        assert saved_cfg["game"]["name"] == "tic_tac_toe" and saved_cfg["loop"]["num_iterations"] == 3
        assert int(state["step"]) == 5 * (step + 1)
    ck.close()
