"""scripts/bench.py: the selfplay subcommand prints throughput as JSON; subcommands are pluggable.
jaxzero.bench.search: the search benchmark runs."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import bench  # noqa: E402


def test_selfplay_json():
    out = subprocess.run(
        [
            sys.executable,
            "scripts/bench.py",
            "selfplay",
            "--config",
            "configs/tictactoe.py",
            "--repeats",
            "1",
            "--config.selfplay.batch_size=8",
            "--config.selfplay.num_simulations=4",
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["benchmark"] == "selfplay" and result["batch_size"] == 8 and result["num_simulations"] == 4
    assert result["positions_per_s"] > 0 and result["games_per_s"] > 0
    assert result["moves_timed"] == 9


def test_unknown_override_is_refused():
    from jaxzero.cli import UserError

    with pytest.raises(UserError, match=r"config.selfplay.nope is not a setting"):
        bench.load_config(str(ROOT / "configs/tictactoe.py"), ["--config.selfplay.nope=3"])
    cfg = bench.load_config(str(ROOT / "configs/tictactoe.py"), ["--config.train.learning_rate=0.5"])
    assert cfg.train.learning_rate == 0.5


def test_adding_a_subcommand_is_one_function(monkeypatch, capsys):
    def add_hello(sub):
        p = sub.add_parser("hello")
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=lambda args, overrides: {"hello": 1})

    monkeypatch.setattr(bench, "SUBCOMMANDS", [*bench.SUBCOMMANDS, add_hello])
    assert bench.main(["hello", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"hello": 1}


@pytest.mark.slow
def test_bench_search_runs():
    import jax

    from jaxzero.bench.search import bench_search, random_positions
    from jaxzero.games.registry import make_game
    from tests.helpers import linear_model

    game = make_game("tic_tac_toe")
    apply_fn, params = linear_model(game, jax.random.PRNGKey(0))
    states = random_positions(game, jax.random.PRNGKey(3), 4, 5)
    r = bench_search(game, apply_fn, params, states, num_simulations=4, max_num_considered_actions=4, repeats=1)
    assert r["ratio"] > 0 and r["action_agreement"] == 1.0


def test_profile_splits_a_search_decision():
    from jaxzero.bench.profile import profile_search

    cfg = bench.load_config(str(ROOT / "configs/tictactoe.py"),
                            ["--config.selfplay.batch_size=4", "--config.selfplay.num_simulations=4"])
    r = profile_search(cfg, repeats=1, max_moves=3)
    split = r["full_ids"]  # tic-tac-toe: K = A, nothing to compact
    parts = split["net_s"] + split["rules_s"] + split["pack_s"] + split["bookkeeping_s"]
    assert abs(parts - split["search_s"]) < 1e-3 and split["pack_s"] == 0.0
    assert split["net_s"] == pytest.approx(5 * r["piece_s"]["net"], abs=1e-3)  # S + 1 evaluations
    assert r["net_flops_per_call"] > 0 and r["net_flop_floor_s"] > 0 and "compact" not in r


@pytest.mark.extended  # four RingRift compiles (~4 min on 2 cores); the full check ran on an H200 (BENCHMARKS.md)
def test_gpu_check_small_runs_on_cpu(tmp_path):
    out = tmp_path / "gpu.json"
    assert bench.main(["gpu", "--small", "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["small"] and r["selfplay_compact"]["compact"] and not r["selfplay_full_ids"]["compact"]
    assert r["selfplay_compact"]["decisions_per_s"] > 0 and r["selfplay_full_ids"]["decisions_per_s"] > 0
    assert r["compact_speedup"] > 0 and r["engine"]["decisions_per_s"] > 0 and r["heuristic"]["games"] >= 0


# self-play holds no collective (shard_map); the train step one all-reduce (docs/scaling.md). Extended
# (CI budget, 2026-12-07: 90 s of the slow tier on a quiet dev VM): tests/test_mesh.py checks the same
# programs on 4 devices in CI; this one checks the benchmark's table
@pytest.mark.extended
def test_scaling_table_runs_one_subprocess_per_device_count():
    from jaxzero.bench.scaling import markdown, table

    overrides = ["--config.selfplay.num_simulations=2", "--config.selfplay.batch_size=8",
                 "--config.selfplay.chunk_steps=3", "--config.selfplay.num_steps=3", "--config.train.batch_size=8",
                 "--config.net.channels=4"]
    rows = table("tictactoe", overrides, [1, 2], repeats=1, train_steps=2)
    assert [r["devices"] for r in rows] == [1, 2], rows
    for r in rows:
        assert "error" not in r, r
        assert r["selfplay_positions_per_s"] > 0 and r["train_steps_per_s"] > 0 and r["train_batch"] == 8
    text = markdown(rows)
    assert text.count("\n") == 3 and "| 2 |" in text
    # a batch that does not divide is one row's error, not the table's end
    bad = table("tictactoe", overrides + ["--config.selfplay.batch_size=9", "--config.selfplay.holdout_slots=1"], [2],
                repeats=1, train_steps=1)
    assert "config.selfplay.batch_size (9) must be divisible by the device count (2" in bad[0]["error"], bad


@pytest.mark.parametrize("spec, expected", [("2x32", (2, 32, 1.0)), ("6x64@0.5", (6, 64, 0.5)), ("1x8@1", (1, 8, 1.0))])
def test_capacity_net_specs_parse(spec, expected):
    from jaxzero.bench.capacity import parse_net

    assert parse_net(spec) == expected


def test_capacity_shapes_keep_the_configs_value_head_proportion():
    """The config's own shape is its net exactly (tic-tac-toe: 16 channels, value head 32 wide)."""
    from jaxzero.bench.capacity import shaped

    cfg = bench.load_config(str(ROOT / "configs/tictactoe.py"), [])
    assert (cfg.net.channels, cfg.net.value_hidden) == (16, 32)
    own = shaped(cfg, cfg.net.num_blocks, 16, 10)
    assert own.net.to_dict() == cfg.net.to_dict() and own.bootstrap.train_steps == 10
    assert (shaped(cfg, 2, 8, 10).net.value_hidden, shaped(cfg, 2, 48, 10).net.value_hidden) == (16, 96)


@pytest.mark.parametrize("spec", ["2x", "0x32", "2x32@0", "2x32@1.5", "2*32", "x32@0.5"])
def test_capacity_bad_net_spec_is_a_user_error(spec, capsys):
    from jaxzero.cli import run_main

    assert run_main(bench.main, ["capacity", "--config", str(ROOT / "configs/tictactoe.py"), "--nets", spec]) == 2
    assert "bad net spec" in capsys.readouterr().err


def test_capacity_trains_every_shape_on_the_same_heuristic_games():
    """Tic-tac-toe's one-ply greedy player as the teacher: each shape trains on the same rows (a
    fraction on fewer training games), and the config's own shape at the bootstrap's step count
    measures exactly what the run's bootstrap reports (same games, recipe and held-out games)."""
    import jax

    from jaxzero.bench.capacity import capacity
    from jaxzero.games.registry import make_game
    from jaxzero.loop.bootstrap import bootstrap
    from jaxzero.loop.parts import build_parts
    from jaxzero.loop.state import new_buffer
    from jaxzero.train import init_train_state

    cfg = bench.load_config(str(ROOT / "configs/tictactoe.py"),
                            ["--config.bootstrap.num_steps=18", "--config.bootstrap.batch_size=32",
                             "--config.bootstrap.holdout_slots=4", "--config.bootstrap.train_steps=30",
                             "--config.train.batch_size=32", "--config.net.num_blocks=1", "--config.net.channels=8",
                             "--config.net.value_hidden=8"])
    game = make_game(cfg.game.name)
    r = capacity(cfg, game, ["1x8", "1x8@0.25", "2x8"], steps=30, games=4, log=lambda s: None)
    nets = r["nets"]
    assert r["train_games_slots"] == 28 and r["held_out_slots"] == 4 and r["heuristic_positions"] == 18 * 28
    assert [nets[s]["train_slots"] for s in ("1x8", "1x8@0.25", "2x8")] == [28, 7, 28]
    assert nets["2x8"]["params"] > nets["1x8"]["params"] == nets["1x8@0.25"]["params"]
    assert all(row["raw_vs_heuristic"]["score"] is not None for row in nets.values())

    parts = build_parts(cfg, game)
    _, _, m = bootstrap(parts, cfg, init_train_state(parts.params0, parts.optimizer), new_buffer(game, cfg),
                        jax.random.key(0), log=lambda s: None)
    assert nets["1x8"]["held_out"]["agreement"] == round(m["bootstrap/accuracy"], 4)
    assert nets["1x8"]["held_out"]["loss_value"] == round(m["bootstrap/heldout_loss_value"], 4)


def test_self_agreement_is_one_for_a_deterministic_player_and_low_for_a_random_one():
    """The imitation ceiling: a player without random tie-breaks always agrees with itself; a
    uniformly random tic-tac-toe player agrees about as often as 1 / (legal moves) (~0.2)."""
    import jax
    import jax.numpy as jnp

    from jaxzero.bench.capacity import self_agreement
    from jaxzero.games.registry import make_game
    from jaxzero.players import random_player

    game = make_game("tic_tac_toe")

    def lowest(states, key):
        return jnp.argmax(states.legal_action_mask, -1).astype(jnp.int32)

    det = self_agreement(game, lowest, 64, 9, jax.random.key(0))
    assert det["agreement"] == 1.0 and det["positions"] == 64 * 7  # lowest-id games end after 7 moves
    rnd = self_agreement(game, random_player, 64, 9, jax.random.key(0))
    assert rnd["positions"] > 300 and 0.12 < rnd["agreement"] < 0.32, rnd


def test_moves_to_end_and_scores_of_value_estimates():
    import numpy as np

    from jaxzero.bench.values import moves_to_end
    from jaxzero.loop.data import outcome_fit as score

    done = np.zeros((5, 2), bool)
    done[2, 0] = done[4, 0] = True  # slot 0: games end at t=2 and t=4; slot 1: unfinished
    np.testing.assert_array_equal(moves_to_end(done), [[2, 5], [1, 4], [0, 3], [1, 2], [0, 1]])
    s = score(np.array([0.5, -0.5, 0.0, 1.0]), np.array([1.0, -1.0, 1.0, 1.0]))
    assert s["n"] == 4 and abs(s["mse"] - (0.25 + 0.25 + 1.0 + 0.0) / 4) < 1e-12 and 0.5 < s["corr"] < 1.0
    assert np.isnan(score(np.zeros(3), np.array([1.0, -1.0, 1.0]))["corr"])  # a constant estimate
    assert score(np.zeros(0), np.zeros(0))["n"] == 0


def test_values_scores_the_value_head_and_the_search_on_a_runs_own_games():
    """Tic-tac-toe with a fresh net: every finished game's positions are scored, by the value head and by
    the search's chosen-move Q; the search finds wins a fresh net's value head cannot see."""
    from jaxzero.bench.values import value_quality
    from jaxzero.games.registry import make_game
    from jaxzero.nn import make_model

    cfg = bench.load_config(str(ROOT / "configs/tictactoe.py"),
                            ["--config.selfplay.batch_size=32", "--config.selfplay.chunk_steps=9",
                             "--config.net.num_blocks=1", "--config.net.channels=8", "--config.net.value_hidden=8"])
    game = make_game(cfg.game.name)
    model, params = make_model(cfg.net, game, cfg.seed)
    r = value_quality(cfg, game, model.apply, params, chunks=2, log=lambda s: None)
    est = r["estimates"]
    assert set(est) == {"net", "search"} and r["games"] >= 32
    assert est["net"]["all"]["n"] == est["search"]["all"]["n"] == r["positions"] > 100
    assert sum(b["n"] for b in est["search"]["to_go"].values()) == r["positions"]
    assert est["search"]["all"]["corr"] > est["net"]["all"]["corr"] + 0.2, est


def test_values_needs_a_training_workdir(tmp_path, capsys):
    from jaxzero.cli import run_main

    assert run_main(bench.main, ["values", "--checkpoint", str(tmp_path)]) == 2
    assert "not a training workdir" in capsys.readouterr().err
