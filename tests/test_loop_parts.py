"""A second Loop with the same config (a resume in the same process) reuses the compiled parts."""

import importlib.util
from pathlib import Path

from jaxzero import loop

ROOT = Path(__file__).resolve().parent.parent


def _cfg():
    spec = importlib.util.spec_from_file_location("tictactoe", ROOT / "configs" / "tictactoe.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.get_config()


def test_resume_in_process_reuses_compiled_functions(tmp_path):
    cfg = _cfg()
    a = loop.Loop(cfg, tmp_path / "a", progress=False)
    resumed = _cfg()
    resumed.loop.num_iterations = cfg.loop.num_iterations + 3  # run length is not traced
    b = loop.Loop(resumed, tmp_path / "b", progress=False)
    for name in ("game", "selfplay", "arena", "train_step", "evaluate", "model"):
        assert getattr(a, name) is getattr(b, name), name
    changed = _cfg()
    changed.selfplay.num_simulations = cfg.selfplay.num_simulations + 1
    c = loop.Loop(changed, tmp_path / "c", progress=False)
    assert c.selfplay is not a.selfplay and c.arena is not a.arena
