"""Progress in a redirected log is one short line per step (no carriage-return bars)."""

from jaxzero.loop.progress import steps


def test_a_redirected_log_gets_short_lines_and_a_silent_run_none(capsys):
    assert list(steps(250, "bootstrap: training", "steps", True, every=100)) == list(range(250))
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 3 and "\r" not in err  # after 100, 200 and the last (250)
    assert "steps 100/250" in lines[0] and "steps 250/250" in lines[2]
    assert max(map(len, lines)) < 300
    assert list(steps(3, "self-play it 0", "chunk", True, per_step=64, what="positions")) == [0, 1, 2]
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3 and "positions/s" in lines[0]
    assert list(steps(5, "x", "chunk", False)) == list(range(5)) and capsys.readouterr().err == ""


def test_a_line_waits_for_the_steps_device_work_before_it_is_timed(capsys):
    waited = []
    assert list(steps(4, "x", "chunk", True, every=2, sync=lambda: waited.append(True))) == [0, 1, 2, 3]
    assert len(waited) == 2 and len(capsys.readouterr().err.splitlines()) == 2
