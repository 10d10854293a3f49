"""Self-play runs data-parallel over the game batch axis (the run's mesh; two forced host CPU devices, in a subprocess)."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent(
    """
    import jax, numpy as np
    from jaxzero import paths
    paths.enable_compilation_cache()
    from jaxzero.config import default_config
    from jaxzero.games.registry import make_game
    from jaxzero.nn import make_model
    from jaxzero.mesh import data_mesh, shard_batch
    from jaxzero.selfplay import SelfPlay, init_slots, value_targets
    assert len(jax.devices()) == 2
    game = make_game("tic_tac_toe")
    cfg = default_config()
    cfg.net.num_blocks, cfg.net.channels, cfg.net.value_hidden = 1, 8, 16
    model, params = make_model(cfg.net, game)
    mesh = data_mesh()
    sp = SelfPlay(game, model.apply, num_simulations=4, max_num_considered_actions=9, max_moves=9, mesh=mesh)
    slots = init_slots(game, 8, jax.random.key(0))
    sharded = shard_batch(slots, mesh)
    assert len(sharded.moves.sharding.device_set) == 2
    play = sp.play
    out_slots, traj = play(params, sharded, jax.random.key(1), num_steps=10)
    assert traj.policy.shape == (10, 8, 9) and out_slots.moves.shape == (8,)
    assert len(traj.policy.sharding.device_set) == 2 and len(out_slots.moves.sharding.device_set) == 2
    # each half of the batch is real self-play: legal improved policies, games finishing
    w, legal = np.asarray(traj.policy), np.asarray(traj.legal)
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-5)
    assert np.all(w[~legal] == 0.0)
    done = np.asarray(traj.done)
    assert done[:, :4].sum() >= 4 and done[:, 4:].sum() >= 4
    values, mask = value_targets(traj)
    assert np.asarray(mask).any()
    # the two shards play different games (each slot its own random stream)
    assert not np.array_equal(np.asarray(traj.obs[:, :4]), np.asarray(traj.obs[:, 4:]))
    out_slots, traj = play(params, out_slots, jax.random.key(2), num_steps=10)  # carries on, sharded
    assert play._cache_size() == 1
    print("SHARDED_OK")
    """
)


def test_selfplay_runs_sharded_over_two_devices():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "SHARDED_OK" in out.stdout


@pytest.mark.extended  # CI budget (2026-12-06): 68 s on the loaded 2-core dev VM; tests/test_mesh.py covers
# the sharded loop in CI
def test_train_script_runs_on_two_devices(tmp_path):
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu")
    env.pop("JAXZERO_DEBUG_PAUSE", None)
    cmd = [
        sys.executable,
        "scripts/train.py",
        "--config=configs/tictactoe.py",
        "--config.loop.num_iterations=1",
        "--config.train.steps_per_iteration=5",
        "--config.arena.num_games=8",
        "--config.arena.vs_random_games=8",
        "--no_progress",
        f"--workdir={tmp_path}",
    ]
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.splitlines()[-1].startswith("it   0")
    assert (tmp_path / "metrics.jsonl").read_text().count("\n") == 1
    # resumed (exactly: the sharded game slots were saved from the host and are sharded again)
    cmd[cmd.index("--config.loop.num_iterations=1")] = "--config.loop.num_iterations=2"
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "resuming from checkpoint of iteration 0" in out.stdout
    assert not [x for x in out.stdout.splitlines() if x.startswith("WARNING")], out.stdout  # an exact resume
    assert out.stdout.splitlines()[-1].startswith("it   1")
