"""RingRift in the closed loop: 2 iterations of `configs/<name>.py:tiny` on CPU, checkpoint, resume, arena, metrics.

Each test compiles the RingRift engine inside search, self-play and the arena (the dominant cost); the
compiles dominate (sq8:tiny took 650 s wall / 289 s CPU on the loaded 2-core dev VM, cold cache), so all
loop runs are marked slow; the registry/config/head checks below stay in the fast tier (~10 s).
"""

import importlib.util
import json
import time
from pathlib import Path

import pytest

from jaxzero import loop
from jaxzero.checkpoint import Checkpointer

ROOT = Path(__file__).resolve().parent.parent


def load_config(name, arg):
    spec = importlib.util.spec_from_file_location(name, ROOT / "configs" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.get_config(arg)


def _two_iterations_then_resume(name, tmp_path, num_players, bootstrap=False, samples=True, prior=False):
    cfg = load_config(name, "tiny")
    if prior:  # the heuristic's evaluation mixed into self-play's leaf values, fading out over 2 iterations
        cfg.selfplay.prior_value_weight, cfg.selfplay.prior_value_decay_iterations = 0.5, 2
    if not samples:  # the sample game's compiles (a one-game search, the env step) cost ~1-4 min here
        cfg.loop.sample_games = 0
    if bootstrap:  # the :cpu setting's first best: RingRift's heuristic games without search
        cfg.bootstrap.num_steps, cfg.bootstrap.batch_size = cfg.selfplay.chunk_steps, 4
        cfg.bootstrap.holdout_slots, cfg.bootstrap.train_steps = 1, 2
    assert cfg.net.policy_head == "spatial" and cfg.selfplay.search == "auto"
    assert cfg.arena.num_games % num_players == 0
    t0 = time.time()
    lp = loop.Loop(cfg, tmp_path, progress=False, log=lambda s: None)
    assert lp.game.num_players == num_players
    rows = lp.run()
    first = time.time() - t0
    assert [r["iteration"] for r in rows] == [0, 1]
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in lines] == [0, 1]
    for key in loop.METRIC_KEYS:
        assert key in lines[-1], key
    for r in lines:
        assert r["positions"] == cfg.selfplay.num_steps * (cfg.selfplay.batch_size - cfg.selfplay.holdout_slots)
        assert r["arena/games"] == cfg.arena.num_games
        assert r["arena/ci_low"] <= r["arena/score"] <= r["arena/ci_high"]
        assert 0 <= r["arena/truncated"] <= cfg.arena.num_games
        assert r["truncated"] <= r["games"]
        assert r["value_targets"] <= r["positions"]
    if prior:
        assert [r["data/prior_value_weight"] for r in lines] == [0.5, 0.25]
    if bootstrap:
        assert lines[0]["bootstrap/positions"] == cfg.bootstrap.num_steps * 3
        assert lines[0]["best_from"] in ("bootstrap", "it0") and "bootstrap/positions" not in lines[1]
        assert lines[0]["train_step"] == cfg.bootstrap.train_steps + cfg.train.steps_per_iteration
    if samples:
        _check_sample_games(tmp_path, [0, 1], num_players)
    ck = Checkpointer(tmp_path / "checkpoints")
    assert ck.latest_iteration() == 1
    ck.close()
    # resume (same compiled functions): restores iteration 1 and continues at 2
    cfg.loop.num_iterations = 3
    compiled = lp.parts.selfplay.play._cache_size(), lp.parts.arena._vs_net._cache_size()
    rows2 = lp.run()
    assert [r["iteration"] for r in rows2] == [2]
    assert (lp.parts.selfplay.play._cache_size(), lp.parts.arena._vs_net._cache_size()) == compiled  # nothing retraced
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in lines] == [0, 1, 2]
    if samples:
        _check_sample_games(tmp_path, [0, 1, 2], num_players)
    else:
        assert not (tmp_path / "games").exists()
    print(f"{name}:tiny 2 iterations in {first:.0f}s (compile included), resume {time.time() - t0 - first:.0f}s")


def _check_sample_games(workdir, iterations, num_players):
    """Each iteration left its sample game (config.loop.sample_games = 1): the HTML replayer (it parses
    as HTML) and a RingRift record line that the engine replays (a game of the best against itself)."""
    from html.parser import HTMLParser

    from jaxzero.replays import read_ringrift_records

    games = workdir / "games"
    for it in iterations:
        tags = []
        parser = HTMLParser()
        parser.handle_starttag = lambda tag, attrs: tags.append(tag)
        parser.feed((games / f"iteration_{it:04d}.html").read_text())
        parser.close()
        assert {"html", "svg", "script"} <= set(tags)
    lines = [json.loads(x) for x in (games / "records.jsonl").read_text().splitlines()]
    assert [r["metadata"]["generation"] for r in lines] == iterations
    assert all(r["metadata"]["origin"] == "selfplay" and r["metadata"]["searchBudget"]["simulations"] > 0 for r in lines)
    replayed = read_ringrift_records(games / "records.jsonl")
    assert len(replayed) == len(iterations)
    for rec in replayed:
        assert rec.game.num_players == num_players and len(rec.actions) > 0
        assert all(s["legal_action_mask"][a] for s, a in zip(rec.states, rec.actions))


# Each test compiles the rules inside self-play and three arena matches: minutes on a 2-core CPU
# (sq8:tiny measured 650 s wall / 289 s CPU at load ~6, cold cache), so they run in CI's slow step.
# Resuming reuses the compiled functions (checkpoint.restore returns uncommitted arrays), seconds.
# CI budget (2026-12-07: the suite took ~1.6x longer on a quiet VM than the day before): the 2-player
# loop is extended; sq8_3p below runs the same RingRift loop code (sample games, records, resume) and
# more (max^n, vector values, the leaf-value prior), and tic-tac-toe covers the 2-player loop in CI
@pytest.mark.extended
@pytest.mark.timeout(1800)
def test_sq8_tiny_loop(tmp_path):
    _two_iterations_then_resume("sq8", tmp_path, 2)


# the :cpu setting's bootstrap on RingRift: with the bootstrap's heuristic games compiling cold (the
# rest of the cache warm), this test took 5 min 49 s on the 2-core dev VM, against 4 min 12 s for all
# three loop tests above with a warm cache (BENCHMARKS.md), so it is extended (not in CI);
# tests/test_loop_bootstrap.py covers the bootstrap on tic-tac-toe in CI
@pytest.mark.extended
@pytest.mark.timeout(3600)
def test_sq8_tiny_loop_with_a_bootstrap_from_the_ringrift_heuristic(tmp_path):
    _two_iterations_then_resume("sq8", tmp_path, 2, bootstrap=True, samples=False)


# extended (2026-12-07): 1,247 s of the slow tier's 78 summed minutes on two xdist workers, and CI's
# slow step ran past its bound with it (stop 36). Its parts run in CI: the loop on tic-tac-toe
# (tests/test_loop.py and the bootstrap, mix, fault and resume tests), max^n and the leaf-value prior
# on RingRift (tests/test_maxn.py, tests/test_selfplay.py), RingRift sample records (tests/test_replays.py)
@pytest.mark.extended
@pytest.mark.timeout(1800)
def test_sq8_3p_tiny_loop(tmp_path):  # with the leaf-value prior (max^n search over the mixed values)
    _two_iterations_then_resume("sq8_3p", tmp_path, 3, prior=True)


# extended (2026-12-06): the loop tier exceeded the CI budget, and this test's compile is where XLA
# aborted while writing the compilation cache (2026-11-24, 2026-12-06 twice); hex8 stays covered in CI by the
# engine parity and the served heuristic
@pytest.mark.extended
@pytest.mark.timeout(1800)
def test_hex8_tiny_loop(tmp_path):  # sample games checked on sq8 and sq8_3p (mctx and max^n search)
    _two_iterations_then_resume("hex8", tmp_path, 2, samples=False)


CONFIGS = {"sq8": ("square8", 2), "sq8_3p": ("square8", 3), "sq8_4p": ("square8", 4),
           "hex8": ("hex8", 2), "hex8_3p": ("hex8", 3), "hex8_4p": ("hex8", 4)}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_configs_name_registered_ringrift_games(name):
    from jaxzero import config as config_lib
    from jaxzero.games.registry import make_game

    board, p = CONFIGS[name]
    for arg in (None, "tiny", "cpu"):
        cfg = load_config(name, arg)
        game = make_game(cfg.game.name)  # registered lazily by registry.make_game
        config_lib.validate(cfg, game)
        assert game.id == cfg.game.name == f"ringrift_{board}_{p}p"
        assert game.num_players == p and game.cfg.auto_single and game.cfg.max_moves == cfg.game.max_moves
        assert cfg.arena.num_games % p == 0 and cfg.arena.vs_random_games % p == 0
        index, cell_channels, num_global = game.policy_layout()
        rows, cols, _ = game.observation_shape
        assert index.shape == (game.num_actions,)
        assert 0 <= index.min() and index.max() < rows * cols * cell_channels + num_global
    assert load_config(name, None).selfplay.num_simulations == 64
    with pytest.raises(ValueError, match="variant"):
        load_config(name, "huge")


def test_spatial_head_and_mctx_refused_where_they_cannot_work():
    from jaxzero import config as config_lib
    from jaxzero.games.registry import make_game
    from jaxzero.nn import make_model

    cfg = config_lib.default_config()
    cfg.net.policy_head = "spatial"
    c4 = make_game("connect_four")
    with pytest.raises(ValueError, match="policy_layout"):
        config_lib.validate(cfg, c4)
    with pytest.raises(ValueError, match="policy_layout"):
        make_model(cfg.net, c4)
    cfg = load_config("sq8_3p", "tiny")
    cfg.selfplay.search = "mctx"
    with pytest.raises(ValueError, match="mctx"):
        config_lib.validate(cfg, make_game(cfg.game.name))
    cfg.selfplay.search = "nope"
    with pytest.raises(ValueError, match="selfplay.search"):
        config_lib.validate(cfg)
