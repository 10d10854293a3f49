"""Several processes (`jaxzero.distributed`, train.py's --coordinator/--num-processes/--process-id/--distributed).

Fast: the flags' errors, and the helpers' one-process no-ops. Extended: two local processes of
scripts/train.py (2 forced CPU devices each, a 4-device mesh over both, gloo collectives) train,
write one metrics.jsonl and one checkpoint directory, are SIGKILLed mid-iteration and resume, and end
with the metrics of one process on 4 devices."""

import argparse
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from jaxzero import cli, distributed

ROOT = Path(__file__).resolve().parent.parent


def _args(argv):
    p = argparse.ArgumentParser()
    cli.add_distributed(p)
    return p.parse_args(argv)


@pytest.mark.parametrize("argv, expected", [
    ([], None),
    (["--distributed"], "auto"),
    (["--coordinator", "host0:1234", "--num-processes", "2", "--process-id", "1"], ("host0:1234", 2, 1)),
    (["--coordinator=10.0.0.1:8476", "--num_processes=4", "--process_id=0"], ("10.0.0.1:8476", 4, 0)),
])
def test_distributed_flags_say_what_the_run_is(argv, expected):
    assert cli.distributed_settings(_args(argv)) == expected


@pytest.mark.parametrize("argv, message", [
    (["--coordinator", "host0:1234"], "--coordinator needs --num-processes, --process-id too"),
    (["--num-processes", "2", "--process-id", "0"], "needs --coordinator too"),
    (["--coordinator", "h:1", "--num-processes", "2", "--process-id", "2"],
     "--process-id must be in [0, 1] for --num-processes 2, got 2"),
    (["--coordinator", "h:1", "--num-processes", "2", "--process-id", "-1"], "--process-id must be in [0, 1]"),
    (["--coordinator", "h:1", "--num-processes", "0", "--process-id", "0"], "--num-processes must be at least 1"),
    (["--coordinator", "host0", "--num-processes", "2", "--process-id", "0"], "--coordinator must be HOST:PORT"),
    (["--coordinator", "host0:http", "--num-processes", "2", "--process-id", "0"], "--coordinator must be HOST:PORT"),
    (["--distributed", "--process-id", "0"], "--distributed finds the coordinator, process count and id itself"),
])
def test_inconsistent_distributed_flags_are_user_errors(argv, message):
    with pytest.raises(cli.UserError, match=None) as e:
        cli.distributed_settings(_args(argv))
    assert message in str(e.value)


def test_one_process_starts_nothing():
    assert cli.start_distributed(_args([])) is False
    assert cli.start_distributed(_args(["--coordinator", "h:1", "--num-processes", "1", "--process-id", "0"])) is False
    distributed.start("h:1", 1, 0)  # a run of one process: no coordinator is contacted


def test_start_refuses_a_partial_or_impossible_request():
    with pytest.raises(ValueError, match="together"):
        distributed.start("h:1", 2)
    with pytest.raises(ValueError, match="process_id must be in"):
        distributed.start("h:1", 2, 5)


def test_helpers_are_no_ops_with_one_process():
    assert distributed.is_main()
    distributed.barrier("anything")
    assert distributed.agree("config text", "config") == "config text"
    assert distributed.agree(3) == 3
    assert distributed.from_main(True) is True
    x = np.arange(6).reshape(2, 3)
    tree = distributed.gather({"a": x, "b": [np.float32(1.5)]})
    assert np.array_equal(tree["a"], x) and tree["b"][0] == 1.5
    assert distributed.global_arrays(tree) is tree


def test_train_refuses_inconsistent_flags_in_one_line(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "scripts/train.py"), "--config", "tictactoe",
                          "--coordinator", "127.0.0.1:1", "--num-processes", "2", "--process-id", "3",
                          f"--workdir={tmp_path / 'run'}"], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "error: --process-id must be in [0, 1] for --num-processes 2, got 3"]


# --- two processes -------------------------------------------------------------------------------

TINY = [
    "--config=configs/tictactoe.py",
    "--config.train.steps_per_iteration=5",
    "--config.arena.num_games=8",
    "--config.arena.vs_random_games=8",
    "--config.selfplay.num_simulations=8",
    "--no_progress",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """One process of a two-process train.py run, its stdout read line by line into a queue."""

    def __init__(self, workdir: Path, port: int, process_id: int, iterations: int):
        env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", JAXZERO_DEBUG_PHASES="1",
                   PYTHONUNBUFFERED="1")
        env.pop("JAXZERO_DEBUG_PAUSE", None)
        self.log_path = workdir.parent / f"stderr-{process_id}-{time.time():.0f}.log"
        self.proc = subprocess.Popen(
            [sys.executable, "scripts/train.py", *TINY, f"--config.loop.num_iterations={iterations}",
             f"--workdir={workdir}", "--coordinator", f"127.0.0.1:{port}", "--num-processes", "2",
             "--process-id", str(process_id)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=open(self.log_path, "w"), text=True)
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=lambda: [self.lines.put(x.rstrip("\n")) for x in self.proc.stdout],
                                       daemon=True)
        self.reader.start()

    def wait_for(self, marker: str, timeout: float = 600) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(line)
            if marker in line:
                return
        raise AssertionError(f"{marker!r} not printed; output: {self.seen[-20:]}; stderr: {self.stderr()}")

    def finish(self, timeout: float = 600) -> int:
        rc = self.proc.wait(timeout=timeout)
        self.reader.join(timeout=30)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return rc

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stderr(self) -> str:
        return self.log_path.read_text()[-3000:]


def _run_two(workdir: Path, iterations: int) -> tuple[Proc, Proc]:
    port = _free_port()
    return Proc(workdir, port, 0, iterations), Proc(workdir, port, 1, iterations)


def _iterations(workdir: Path) -> list[int]:
    return [json.loads(x)["iteration"] for x in (workdir / "metrics.jsonl").read_text().splitlines()]


def _checkpoints(workdir: Path) -> list[int]:
    return sorted(int(p.name) for p in (workdir / "checkpoints").iterdir() if p.name.isdigit())


@pytest.mark.slow
@pytest.mark.extended  # 145 s wall on the 2-core dev VM at load ~1.7 (three two-process starts and one single-process run, warm compilation cache)
@pytest.mark.timeout(1800)
def test_two_processes_train_checkpoint_once_resume_after_sigkill_and_match_one_process(tmp_path):
    workdir = tmp_path / "run"

    # 1. two processes, one run: 2 iterations, files written once (by process 0)
    a, b = _run_two(workdir, 2)
    assert a.finish() == 0, a.stderr()
    assert b.finish() == 0, b.stderr()
    assert [x[:6] for x in a.seen if x.startswith("it ")] == ["it   0", "it   1"]
    assert not [x for x in b.seen if x.startswith("it ")]  # process 1 logs nothing of its own
    assert "mesh: 4 cpu device(s)" in "\n".join(a.seen)  # one mesh over both processes' devices
    assert _iterations(workdir) == [0, 1]  # each row once, not once per process
    assert _checkpoints(workdir) == [0, 1]
    assert sorted(p.name for p in workdir.iterdir() if p.name.startswith("checkpoints")) == ["checkpoints"]

    # 2. asked for more; process 1 SIGKILLed while iteration 3 trains, then process 0 (left alone it
    # would wait in a collective until JAX's distributed service misses process 1's heartbeats, ~90 s,
    # and abort: docs/scaling.md)
    a, b = _run_two(workdir, 5)
    a.wait_for("resuming from checkpoint of iteration 1")
    a.wait_for("it   2")
    b.wait_for("PHASE train 3")
    b.kill()
    a.kill()
    assert _checkpoints(workdir)[-1] == 2
    assert _iterations(workdir) == [0, 1, 2]

    # 3. both restarted: resume after iteration 2, the exact resume (buffer and game slots), and finish
    a, b = _run_two(workdir, 5)
    assert a.finish() == 0, a.stderr()
    assert b.finish() == 0, b.stderr()
    assert any("resuming from checkpoint of iteration 2" in x for x in a.seen), a.seen
    assert not [x for x in a.seen if x.startswith("WARNING")], a.seen
    assert [x[:6] for x in a.seen if x.startswith("it ")] == ["it   3", "it   4"]
    assert _iterations(workdir) == [0, 1, 2, 3, 4]
    assert _checkpoints(workdir)[-1] == 4
    assert not [p for p in (workdir / "checkpoints").iterdir() if "tmp" in p.name]

    # 4. the killed and resumed two-process run is the uninterrupted one-process run on as many (4)
    # devices: every metric equal, floats up to summation order
    whole = tmp_path / "whole"
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4")
    out = subprocess.run([sys.executable, "scripts/train.py", *TINY, "--config.loop.num_iterations=5",
                          f"--workdir={whole}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    two, one = _rows(workdir), _rows(whole)
    assert [r.keys() for r in two] == [r.keys() for r in one]
    for r2, r1 in zip(two, one):
        for k in r1:
            if isinstance(r1[k], float):
                assert r2[k] == pytest.approx(r1[k], rel=1e-4, abs=1e-6, nan_ok=True), (r1["iteration"], k)
            else:
                assert r2[k] == r1[k], (r1["iteration"], k)


def _rows(workdir: Path) -> list[dict]:
    """metrics.jsonl's rows less what differs between any two runs (timings, memory)."""
    rows = [json.loads(x) for x in (workdir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if not k.endswith(("_seconds", "_mib"))} for r in rows]
