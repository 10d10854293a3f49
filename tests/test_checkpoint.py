"""Checkpoints: round trip with optax types, refusal on config mismatch (nothing lost), half-written steps ignored."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxzero.checkpoint import Checkpointer, ConfigMismatchError
from jaxzero.config import default_config, to_json
from jaxzero.games.registry import make_game
from jaxzero.nn import make_model
from jaxzero.train import init_train_state, make_optimizer


@pytest.fixture(scope="module")
def loop_state():
    cfg = default_config()
    cfg.game.name = "tic_tac_toe"
    cfg.net.num_blocks, cfg.net.channels, cfg.net.value_hidden = 1, 8, 16
    model, params = make_model(cfg.net, make_game("tic_tac_toe"))
    opt = make_optimizer(cfg.train)
    ts = init_train_state(params, opt)
    # one real update so the optimizer state is not all zeros
    grads = jax.tree.map(jnp.ones_like, params)
    upd, opt_state = opt.update(grads, ts.opt_state, params)
    state = {
        "candidate": optax.apply_updates(params, upd),
        "opt_state": opt_state,
        "step": jnp.int32(1),
        "best": params,
        "iteration": jnp.int32(0),
        "rng": jax.random.key_data(jax.random.key(7)),
    }
    return cfg, state


def test_round_trip_restores_types_and_values(tmp_path, loop_state):
    cfg, state = loop_state
    ck = Checkpointer(tmp_path / "ck")
    ck.save(0, state, to_json(cfg), {"iteration": 0, "arena/score": 0.6})
    ck.close()
    ck2 = Checkpointer(tmp_path / "ck")
    assert ck2.latest_iteration() == 0
    restored, conf, metrics = ck2.restore(0, jax.eval_shape(lambda: state))
    assert jax.tree.structure(restored) == jax.tree.structure(state)
    assert isinstance(restored["opt_state"][1][0], optax.ScaleByAdamState)
    jax.tree.map(np.testing.assert_array_equal, restored, state)
    assert conf == to_json(cfg) and metrics["arena/score"] == 0.6
    ck2.close()


def test_config_mismatch_is_refused_and_nothing_is_lost(tmp_path, loop_state):
    cfg, state = loop_state
    ck = Checkpointer(tmp_path / "ck")
    for it in range(2):
        ck.save(it, {**state, "iteration": jnp.int32(it)}, to_json(cfg), {"iteration": it})
    ck.close()
    files_before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    other = cfg.copy_and_resolve_references()
    other.net.channels = 16
    other.game.name = "connect_four"
    ck = Checkpointer(tmp_path / "ck")
    with pytest.raises(ConfigMismatchError) as err:
        ck.check_config(to_json(other))
    msg = str(err.value)
    assert "net.channels: 8 -> 16" in msg and "game.name: 'tic_tac_toe' -> 'connect_four'" in msg
    assert "net.num_blocks" not in msg
    ck.check_config(to_json(cfg))  # the original config is accepted
    # a non-identity change (learning rate) is allowed
    lr = cfg.copy_and_resolve_references()
    lr.train.learning_rate = 0.5
    ck.check_config(to_json(lr))
    ck.close()
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == files_before
    assert Checkpointer(tmp_path / "ck").all_iterations() == [0, 1]


def test_half_written_step_is_invisible(tmp_path, loop_state):
    cfg, state = loop_state
    ck = Checkpointer(tmp_path / "ck")
    ck.save(0, state, to_json(cfg), {"iteration": 0})
    ck.close()
    # what a kill mid-save leaves: orbax's temporary directory for step 1, never committed
    tmp = tmp_path / "ck" / "1.orbax-checkpoint-tmp-123"
    (tmp / "state").mkdir(parents=True)
    (tmp / "state" / "junk").write_text("partial")
    # a reader (the arena while a run trains) sees step 0 and leaves the save in flight alone
    ck = Checkpointer(tmp_path / "ck", reject=False)
    assert ck.latest_iteration() == 0
    ck.close()
    assert (tmp / "state" / "junk").exists()
    ck = Checkpointer(tmp_path / "ck")
    assert ck.latest_iteration() == 0
    restored, _, _ = ck.restore(0, jax.eval_shape(lambda: state))
    assert int(restored["iteration"]) == 0
    ck.close()
    assert not tmp.exists()  # the run itself clears what a kill left


def _resume_arrays(n):
    return {"buffer": jnp.arange(n, dtype=jnp.float32), "slots": {"moves": jnp.ones((4,), jnp.int32)},
            "recent": []}


def test_resume_arrays_round_trip_and_shapes_of_another_config_are_told_not_read(tmp_path, loop_state):
    cfg, state = loop_state
    ck = Checkpointer(tmp_path / "ck")
    ck.save(0, state, to_json(cfg), {"iteration": 0}, resume=(_resume_arrays(8), {"nonfinite_streak": 1}))
    ck.close()
    ck = Checkpointer(tmp_path / "ck")
    abstract = jax.eval_shape(lambda: state)
    it, restored, _, _, (arrays, info) = ck.resume_latest_verified(abstract, lambda info: jax.eval_shape(
        lambda: _resume_arrays(8)))
    assert it == 0 and info["nonfinite_streak"] == 1
    jax.tree.map(np.testing.assert_array_equal, arrays, _resume_arrays(8))
    jax.tree.map(np.testing.assert_array_equal, restored, state)
    # a config with another buffer size: the state resumes, the arrays are not read (the reason is given)
    *_, why = ck.resume_latest_verified(abstract, lambda info: jax.eval_shape(lambda: _resume_arrays(16)))
    assert isinstance(why, str) and "other shapes" in why
    ck.close()


def test_a_step_without_resume_arrays_resumes_with_the_reason(tmp_path, loop_state):
    cfg, state = loop_state
    ck = Checkpointer(tmp_path / "ck")
    ck.save(0, state, to_json(cfg), {"iteration": 0})  # as saved before resume arrays existed
    ck.close()
    ck = Checkpointer(tmp_path / "ck")
    it, _, _, _, why = ck.resume_latest_verified(jax.eval_shape(lambda: state), lambda info: _resume_arrays(8))
    assert it == 0 and "holds no replay buffer and game slots" in why
    ck.close()


def test_changed_resume_arrays_fail_the_digest_and_the_older_step_is_used(tmp_path, loop_state):
    cfg, state = loop_state
    ck = Checkpointer(tmp_path / "ck")
    for it in range(2):
        ck.save(it, {**state, "iteration": jnp.int32(it)}, to_json(cfg), {"iteration": it},
                resume=(_resume_arrays(8), {"step": it}))
    ck.close()
    # the record of step 1 changed after it was written (it still reads): its digest no longer matches
    info = next(f for f in (tmp_path / "ck" / "1" / "resume_info").iterdir() if f.name != "commit_success.txt")
    info.write_text(info.read_text().replace('"step": 1', '"step": 7'))
    warnings = []
    ck = Checkpointer(tmp_path / "ck")
    it, _, _, _, (_, saved) = ck.resume_latest_verified(jax.eval_shape(lambda: state),
                                                        lambda info: jax.eval_shape(lambda: _resume_arrays(8)),
                                                        warn=warnings.append)
    assert it == 0 and saved["step"] == 0
    assert len(warnings) == 1 and "iteration 1 does not match its saved digest" in warnings[0]
    assert (tmp_path / "checkpoints_rejected" / "1").is_dir()
    ck.close()
