"""The self-play game batch axis shards over devices (two forced host CPU devices, in a subprocess)."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent(
    """
    import jax, numpy as np
    from jaxzero import paths
    paths.enable_compilation_cache()
    from jaxzero.config import default_config
    from jaxzero.games.protocol import make_game
    from jaxzero.nn import make_model
    from jaxzero.selfplay import SelfPlay, init_slots, shard_batch, value_targets
    assert len(jax.devices()) == 2
    game = make_game("tic_tac_toe")
    cfg = default_config()
    cfg.net.num_blocks, cfg.net.channels, cfg.net.value_hidden = 1, 8, 16
    model, params = make_model(cfg.net, game)
    sp = SelfPlay(game, model.apply, num_simulations=4, max_num_considered_actions=9, max_moves=9)
    slots = init_slots(game, 8, jax.random.key(0))
    ref_slots, ref = sp.play(params, slots, jax.random.key(1), num_steps=10)
    sharded = shard_batch(slots)
    assert len(sharded.moves.sharding.device_set) == 2
    out_slots, traj = sp.play(params, sharded, jax.random.key(1), num_steps=10)
    np.testing.assert_array_equal(traj.done, ref.done)
    np.testing.assert_allclose(traj.policy, ref.policy, atol=1e-5)
    assert len(out_slots.moves.sharding.device_set) == 2
    print("SHARDED_OK")
    """
)


def test_selfplay_runs_sharded_over_two_devices():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "SHARDED_OK" in out.stdout
