"""A second Loop with the same config (a resume in the same process) reuses the compiled parts."""

import importlib.util
import types
from pathlib import Path

import jax

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
    assert a.parts is b.parts and a.game is b.game
    changed = _cfg()
    changed.selfplay.num_simulations = cfg.selfplay.num_simulations + 1
    c = loop.Loop(changed, tmp_path / "c", progress=False)
    assert c.parts.selfplay is not a.parts.selfplay and c.parts.arena is not a.parts.arena


def test_the_best_is_measured_at_the_eval_budget_and_the_gate_at_the_self_play_budget(tmp_path):
    cfg = _cfg()
    plain = loop.Loop(cfg, tmp_path / "a", progress=False)
    assert plain.parts.eval_arena is plain.parts.arena  # eval_* = 0: one arena, the self-play budget
    wider = _cfg()
    wider.arena.eval_simulations = 2 * cfg.selfplay.num_simulations
    wider.arena.eval_considered = cfg.selfplay.max_num_considered_actions + 1
    w = loop.Loop(wider, tmp_path / "b", progress=False)
    assert (w.parts.arena.num_simulations, w.parts.arena.max_num_considered_actions) == (
        cfg.selfplay.num_simulations, cfg.selfplay.max_num_considered_actions)
    assert (w.parts.eval_arena.num_simulations, w.parts.eval_arena.max_num_considered_actions) == (
        2 * cfg.selfplay.num_simulations, cfg.selfplay.max_num_considered_actions + 1)


def test_the_anchor_matches_play_on_the_eval_arena(tmp_path):
    """The anchors (the best vs random, the bootstrap net and recent bests) play every game on the
    eval arena, never the gate's."""
    import dataclasses

    from jaxzero.elo import EloTable
    from jaxzero.loop.anchors import Anchors

    cfg = _cfg()
    cfg.arena.eval_simulations = 2 * cfg.selfplay.num_simulations
    cfg.elo.heuristic_games = 0
    cfg.elo.num_games, cfg.elo.recent_bests, cfg.elo.bootstrap_games = 2, 1, 2
    w = loop.Loop(cfg, tmp_path, progress=False)
    played = []

    class Recorder:
        def __getattr__(self, name):
            def play(*args, **kwargs):
                played.append(name)
                return {"score": 0.5, "games": 2, "ci_low": 0.0, "ci_high": 1.0, "truncated": 0}
            return play

    class Refuses:
        def __getattr__(self, name):
            raise AssertionError(f"an anchor match played on the gate's arena: {name}")

    parts = dataclasses.replace(w.parts, eval_arena=Recorder(), arena=Refuses())
    run = types.SimpleNamespace(best=parts.params0, best_name="it0", recent=[("prev", parts.params0)],
                                bootstrap=parts.params0)
    key = jax.random.PRNGKey(0)
    Anchors(parts, w.cfg, EloTable(tmp_path / "elo.json", "g")).measure(0, run, (key, key, key))
    assert played == ["vs_random", "vs_random_raw_policy", "match", "match"]  # the bootstrap, then "prev"
