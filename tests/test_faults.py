"""Faults a user meets: two runs on one workdir, a kill between a checkpoint and its metrics line,
unusable workdirs and trace files. Each ends in a clear refusal or a repaired workdir, never a
traceback or a silent pass."""

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from jaxzero import cli, loop
from jaxzero.loop.workdir import WorkdirBusyError, WorkdirLock

ROOT = Path(__file__).resolve().parent.parent


def _cfg(iterations: int):
    cfg = cli.load_config("tictactoe", [f"--config.loop.num_iterations={iterations}",
                                        "--config.train.steps_per_iteration=2", "--config.arena.num_games=2",
                                        "--config.arena.vs_random_games=2", "--config.elo.plot=false"])
    return cfg


def test_a_second_run_on_a_busy_workdir_is_refused_with_the_holders_pid(tmp_path):
    with WorkdirLock(tmp_path):
        with pytest.raises(WorkdirBusyError, match=f"in use by process {os.getpid()}"):
            loop.Loop(_cfg(1), tmp_path, progress=False, log=lambda s: None).run()
    assert not (tmp_path / "metrics.jsonl").exists()  # nothing was written
    with WorkdirLock(tmp_path):  # released: the next run may take it
        pass


@pytest.mark.slow
def test_a_checkpoints_metrics_row_lost_to_a_kill_is_written_on_resume(tmp_path):
    logs = []
    rows = loop.Loop(_cfg(1), tmp_path, progress=False, log=logs.append).run()
    elo = json.loads((tmp_path / "elo.json").read_text())
    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text("")  # as if killed after the checkpoint committed, before the metrics line ...
    (tmp_path / "elo.json").unlink()  # ... and the Elo table
    rows2 = loop.Loop(_cfg(2), tmp_path, progress=False, log=logs.append).run()
    lines = [json.loads(x) for x in metrics.read_text().splitlines()]
    assert [r["iteration"] for r in lines] == [0, 1]
    assert lines[0] == json.loads(json.dumps(rows[0]))  # the checkpoint's own row, as first written
    assert [r["iteration"] for r in rows2] == [1]
    assert any("lacked iteration 0's row" in x for x in logs)
    # the table came back from the checkpoint: iteration 0's results as first written, then any of iteration 1
    results = json.loads((tmp_path / "elo.json").read_text())["results"]
    assert elo["results"] and results[:len(elo["results"])] == elo["results"] and {r[0] for r in results} <= {0, 1}


def _run(script, *args, cwd=None):
    return subprocess.run([sys.executable, str(ROOT / "scripts" / script), *map(str, args)], cwd=cwd or ROOT,
                          capture_output=True, text=True, timeout=300)


def test_a_workdir_that_is_a_file_is_refused_in_one_line(tmp_path):
    target = tmp_path / "taken"
    target.write_text("not a directory")
    out = _run("train.py", "--config", "tictactoe", "--workdir", target)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [f"error: workdir {target} is a file, not a directory: pass another --workdir"]
    assert target.read_text() == "not a directory"


# mtime=0 and ids: two pytest-xdist workers must collect the same test names (a gzip header holds its time)
@pytest.mark.parametrize("content, message", [
    (b"plain text", "is not a readable trace file (BadGzipFile"),
    (gzip.compress(b"", mtime=0), "holds no games: nothing was checked"),
    (gzip.compress(b'{"seed": 1, "board": "square8"', mtime=0), "is not a readable trace file (ValueError"),
    (gzip.compress(b"x" * 5000, mtime=0)[:40], "is not a readable trace file ("),  # truncated
], ids=["not_gzip", "empty", "torn_json", "truncated_gzip"])
def test_parity_refuses_unreadable_or_empty_trace_files(tmp_path, content, message):
    f = tmp_path / "t.jsonl.gz"
    f.write_bytes(content)
    out = _run("parity.py", f)
    assert out.returncode == 2, out.stdout
    assert len(out.stderr.strip().splitlines()) == 1 and message in out.stderr


def test_parity_and_arena_refuse_missing_files_and_empty_matches(tmp_path):
    out = _run("parity.py", tmp_path / "missing.jsonl.gz")
    assert out.returncode == 2 and "trace file not found" in out.stderr
    out = _run("arena.py", "--config", "tictactoe", "--a", "random", "--b", "random", "--games", "0")
    assert out.returncode == 2 and out.stderr.strip() == "error: --games must be positive, got 0"
    out = _run("arena.py", "--config", "missing.py", "--a", "random", "--b", "random")
    assert out.returncode == 2 and "config file not found: 'missing.py'" in out.stderr


@pytest.fixture(scope="module")
def two_iterations(tmp_path_factory):
    """A finished 2-iteration tic-tac-toe run (checkpoints 0 and 1) to damage in copies."""
    workdir = tmp_path_factory.mktemp("intact")
    loop.Loop(_cfg(2), workdir, progress=False, log=lambda s: None).run()
    return workdir


def _largest_state_file(step_dir: Path, item: str = "state") -> Path:
    return max((p for p in (step_dir / item).rglob("*") if p.is_file() and p.name != "_METADATA"),
               key=lambda p: p.stat().st_size)


def _overwrite_inside(p: Path):
    data = bytearray(p.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 256] = bytes(range(256))[: len(data[mid:mid + 256])]
    p.write_bytes(bytes(data))


DAMAGE = {
    "overwritten": lambda step: _overwrite_inside(_largest_state_file(step)),
    "zero_filled": lambda step: _largest_state_file(step).write_bytes(bytes(_largest_state_file(step).stat().st_size)),
    "truncated": lambda step: _largest_state_file(step).write_bytes(_largest_state_file(step).read_bytes()[:100]),
    "no_metadata": lambda step: (step / "state" / "_METADATA").unlink(),
    "torn_metrics": lambda step: (step / "metrics" / "metrics").write_text('{"iteration": 1, "ga'),
    # the replay buffer / game slots saved for an exact resume
    "resume_overwritten": lambda step: _overwrite_inside(_largest_state_file(step, "resume")),
}


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # orbax's abandoned reads
@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_latest_checkpoint_is_set_aside_and_the_run_resumes_from_the_intact_one(tmp_path, two_iterations,
                                                                                           damage):
    import shutil

    workdir = tmp_path / "run"
    shutil.copytree(two_iterations, workdir)
    DAMAGE[damage](workdir / "checkpoints" / "1")
    logs = []
    rows = loop.Loop(_cfg(3), workdir, progress=False, log=logs.append).run()
    warnings = [x for x in logs if x.startswith("WARNING")]
    assert len(warnings) == 1 and "iteration 1" in warnings[0], logs
    assert "resuming from checkpoint of iteration 0" in "\n".join(logs)
    assert [r["iteration"] for r in rows] == [1, 2]
    assert all(np.isfinite(r["loss/policy"]) and not r["rollback"] for r in rows)
    assert (workdir / "checkpoints_rejected" / "1").is_dir()  # set aside, not deleted
    lines = [json.loads(x) for x in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in lines] == [0, 1, 2]


@pytest.mark.slow
def test_consecutive_non_finite_rollbacks_stop_the_run_with_the_good_state_kept(tmp_path):
    cfg = _cfg(3)
    cfg.debug.poison_iteration = 1
    cfg.rollback.max_nonfinite = 1
    with pytest.raises(FloatingPointError, match="1 consecutive iterations trained to a non-finite loss"):
        loop.Loop(cfg, tmp_path, progress=False, log=lambda s: None).run()
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in lines] == [0]
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir() if p.name.isdigit()) == ["0"]


@pytest.mark.slow
def test_a_checkpoint_saved_without_buffer_and_slots_still_resumes_with_one_warning(tmp_path, two_iterations):
    import shutil

    workdir = tmp_path / "run"
    shutil.copytree(two_iterations, workdir)
    for step in ("0", "1"):  # what checkpoints saved before the exact resume hold
        for item in ("resume", "resume_info"):
            shutil.rmtree(workdir / "checkpoints" / step / item)
    logs = []
    rows = loop.Loop(_cfg(3), workdir, progress=False, log=logs.append).run()
    warnings = [x for x in logs if x.startswith("WARNING")]
    assert len(warnings) == 1 and "holds no replay buffer and game slots" in warnings[0], logs
    assert "the resume is not exact" in warnings[0]
    assert "resuming from checkpoint of iteration 1" in "\n".join(logs)
    assert [r["iteration"] for r in rows] == [2] and rows[0]["vs_random/measured_at"] == 2  # re-measured
    assert rows[0]["buffer_size"] == rows[0]["positions"]  # the buffer restarted empty
