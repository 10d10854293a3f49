"""jaxzero.cli: bare config names, variants, typed overrides, default workdirs, one-line user errors."""

import subprocess
import sys
from pathlib import Path

import pytest

from jaxzero import cli

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("spec", ["sq8.py:cpu", "sq8:cpu", "configs/sq8.py:cpu", str(ROOT / "configs/sq8.py") + ":cpu"])
def test_bare_names_and_paths_resolve_to_the_same_config(spec, monkeypatch):
    monkeypatch.chdir(ROOT)
    resolved = cli.resolve_config(spec)
    assert resolved.path.resolve() == ROOT / "configs" / "sq8.py" and resolved.variant == "cpu"
    assert cli.default_workdir(resolved) == Path("runs/sq8_cpu")
    assert cli.load_config(spec).selfplay.num_simulations == 32  # the :cpu setting


def test_bare_names_resolve_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.resolve_config("hex8_3p").path == ROOT / "configs" / "hex8_3p.py"
    assert cli.default_workdir(cli.resolve_config("tictactoe.py")) == Path("runs/tictactoe")


def test_overrides_are_typed_like_the_value_they_replace():
    cfg = cli.load_config("tictactoe", ["--config.train.learning_rate=1e-3", "--config.selfplay.batch_size", "8",
                                        "--config.elo.plot=false", "--config.selfplay.search=maxn"])
    assert cfg.train.learning_rate == 1e-3 and cfg.selfplay.batch_size == 8
    assert cfg.elo.plot is False and cfg.selfplay.search == "maxn"


@pytest.mark.parametrize("spec, overrides, message", [
    ("nope.py", [], "config file not found: 'nope.py'"),
    ("tictactoe:tiny", [], "has no variants"),
    ("sq8:huge", [], "unknown config variant 'huge'"),
    ("tictactoe", ["--config.selfplay.num_simulationz=3"],
     "config.selfplay.num_simulationz is not a setting; did you mean num_simulations?"),
    ("tictactoe", ["--config.selfplay.batch_size=many"], "config.selfplay.batch_size is an integer, got 'many'"),
    ("tictactoe", ["--config.elo.plot=maybe"], "is a boolean"),
    ("tictactoe", ["--workdirr=x"], "unrecognised argument '--workdirr=x'"),
])
def test_user_errors_name_the_problem(spec, overrides, message):
    with pytest.raises(cli.UserError, match=message.replace("?", r"\?").replace("(", r"\(")):
        cli.load_config(spec, overrides)


def test_a_script_ends_a_user_error_in_one_line_with_exit_code_2(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "scripts/train.py"), "--config", "tictactoe",
                          "--config.selfplay.num_simulations=0"], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == ["error: config.selfplay.num_simulations must be a positive integer, got 0"]


@pytest.mark.slow
def test_train_takes_a_bare_config_name_and_files_the_run_under_runs(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "scripts/train.py"), "--config", "tictactoe.py",
                          "--config.loop.num_iterations=1", "--config.train.steps_per_iteration=2",
                          "--config.arena.num_games=2", "--config.arena.vs_random_games=2", "--no_progress"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "workdir runs/tictactoe" in out.stdout.splitlines()[0]
    assert (tmp_path / "runs/tictactoe/metrics.jsonl").read_text().count("\n") == 1
    best = cli.load_best(tmp_path / "runs/tictactoe", "tic_tac_toe")
    assert best.iteration == 0 and best.config.game.name == "tic_tac_toe"
    with pytest.raises(cli.UserError, match="trained tic_tac_toe, not connect_four"):
        cli.load_best(tmp_path / "runs/tictactoe", "connect_four")


def test_a_workdir_names_its_best_and_its_candidate(tmp_path):
    """`DIR` is the latest checkpoint's best, `DIR@candidate` its candidate (the net training goes on
    from); they differ once a gate has kept a candidate."""
    import jax
    import numpy as np

    from jaxzero.checkpoint import Checkpointer
    from jaxzero.config import fill_defaults, to_json
    from jaxzero.games.registry import make_game
    from jaxzero.loop.state import initial_state
    from jaxzero.nn import make_model
    from jaxzero.train import make_optimizer

    cfg = fill_defaults(cli.load_config("tictactoe"))
    model, params0 = make_model(cfg.net, make_game(cfg.game.name), cfg.seed)
    state = initial_state(params0, make_optimizer(cfg.train), cfg.seed)
    state["candidate"] = jax.tree.map(lambda x: x + 1.0, state["candidate"])
    ckpt = Checkpointer(tmp_path / "checkpoints")
    ckpt.save(3, state, to_json(cfg), {"iteration": 3})
    ckpt.close()
    same = lambda a, b: all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))  # noqa: E731
    best, cand = cli.load_best(tmp_path), cli.load_best(f"{tmp_path}@candidate")
    assert same(best.params, params0) and same(cand.params, state["candidate"]) and not same(cand.params, params0)
    assert best.iteration == cand.iteration == 3
    with pytest.raises(cli.UserError, match="DIR@candidate"):
        cli.load_best(f"{tmp_path}@newest")


def test_the_candidate_of_a_weight_averaging_run_is_its_average(tmp_path):
    """With train.params_ema the gate judges the moving average, so `DIR@candidate` is the average;
    switching the average on or off is part of a checkpoint's identity (its decay is not), and a config saved before the
    setting existed reads as its default (off)."""
    import jax
    import numpy as np

    from jaxzero.checkpoint import Checkpointer, ConfigMismatchError
    from jaxzero.config import fill_defaults, identity_mismatches, to_json
    from jaxzero.games.registry import make_game
    from jaxzero.loop.state import initial_state
    from jaxzero.nn import make_model
    from jaxzero.train import ParamsEmaState, make_optimizer

    cfg = fill_defaults(cli.load_config("tictactoe"))
    cfg.train.params_ema = 0.5
    model, params0 = make_model(cfg.net, make_game(cfg.game.name), cfg.seed)
    state = initial_state(params0, make_optimizer(cfg.train), cfg.seed)
    average = jax.tree.map(lambda x: x + 2.0, params0)
    state["opt_state"] = tuple(ParamsEmaState(ema=average) if isinstance(s, ParamsEmaState) else s
                               for s in state["opt_state"])
    ckpt = Checkpointer(tmp_path / "checkpoints")
    ckpt.save(1, state, to_json(cfg), {"iteration": 1})
    cand = cli.load_best(f"{tmp_path}@candidate")
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(cand.params), jax.tree.leaves(average)))
    off = fill_defaults(cli.load_config("tictactoe"))
    with pytest.raises(ConfigMismatchError, match="train.params_ema"):
        ckpt.check_config(to_json(off))
    other_decay = to_json(cfg)
    other_decay["train"]["params_ema"] = 0.99  # the same optimizer state: a run may change its decay
    ckpt.check_config(other_decay)
    ckpt.close()
    old = to_json(off)
    del old["train"]["params_ema"]
    assert identity_mismatches(old, to_json(off)) == []
