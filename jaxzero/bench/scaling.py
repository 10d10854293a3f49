"""Scaling over devices: self-play games/hour and train steps/s of a config on 1, 2, 4, ... devices.

`measure` times one process's mesh (`jaxzero.mesh`, ``config.mesh.devices``) with the loop's own
pieces: `SelfPlay` on the mesh (after a compiling call, ``repeats`` chunks of
``selfplay.chunk_steps`` moves) and the data-parallel train step (a replay buffer filled from those
chunks; after a compiling step, ``train_steps`` steps of ``train.batch_size``). The global batches
stay those of the config, so more devices means a smaller share each (strong scaling).

`table` runs `measure` once per device count, each in a fresh Python process whose CPU device
count is forced with ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` (JAX fixes it at
start). Forced CPU devices share the host's cores: on a CPU the table shows the sharding's overhead
and how far the host's cores are used, not accelerator speed-ups.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def measure(cfg, repeats: int = 3, train_steps: int = 20) -> dict:
    """Self-play and train throughput of ``cfg`` on its mesh, in this process (see the module docstring)."""
    import jax
    import numpy as np

    from jaxzero import config as config_lib
    from jaxzero import mesh as mesh_lib
    from jaxzero import replay
    from jaxzero.games.registry import make_game
    from jaxzero.loop.data import trajectory_to_batch
    from jaxzero.nn import make_model
    from jaxzero.selfplay import SelfPlay, concat_trajectories, init_slots, value_targets
    from jaxzero.train import init_train_state, make_optimizer, make_train_step

    load_before = os.getloadavg()
    game = make_game(cfg.game.name)
    config_lib.validate(cfg, game)  # the batches divide by the device count
    mesh = mesh_lib.mesh_from_config(cfg)
    model, params = make_model(cfg.net, game, cfg.seed)
    sp = cfg.selfplay
    selfplay = SelfPlay.from_config(game, model.apply, cfg, mesh=mesh)
    slots = init_slots(game, sp.batch_size, jax.random.key(cfg.seed))
    t0 = time.time()
    slots, traj = selfplay.play(params, slots, jax.random.key(1), num_steps=sp.chunk_steps)
    jax.block_until_ready(traj)
    selfplay_compile = time.time() - t0
    games, chunks = 0, []
    t0 = time.time()
    for r in range(repeats):
        slots, traj = selfplay.play(params, slots, jax.random.key(2 + r), num_steps=sp.chunk_steps)
        jax.block_until_ready(traj)
        games += int(np.asarray(traj.done).sum())
        chunks.append(traj)
    selfplay_s = time.time() - t0
    positions = sp.chunk_steps * sp.batch_size * repeats

    window = jax.device_get(concat_trajectories(chunks))
    values, mask = value_targets(window)
    buf = replay.init_buffer(cfg.replay.capacity, game.observation_shape, game.num_actions, game.num_players)
    buf = replay.add(buf, trajectory_to_batch(window, values, mask, slice(0, sp.batch_size)))
    optimizer = make_optimizer(cfg.train)
    step = make_train_step(model.apply, optimizer, cfg.train.value_loss_weight, mesh)
    ts = init_train_state(params, optimizer)
    t0 = time.time()
    ts, m = step(ts, buf, jax.random.key(100), cfg.train.batch_size)
    jax.block_until_ready(m)
    train_compile = time.time() - t0
    t0 = time.time()
    for s in range(train_steps):
        ts, m = step(ts, buf, jax.random.key(101 + s), cfg.train.batch_size)
    jax.block_until_ready((ts, m))
    train_s = time.time() - t0
    n = mesh_lib.mesh_size(mesh)
    return {
        "devices": n,
        "platform": jax.devices()[0].platform,
        "game": cfg.game.name,
        "selfplay_batch": sp.batch_size,
        "num_simulations": sp.num_simulations,
        "train_batch": cfg.train.batch_size,
        "net": f"{cfg.net.num_blocks}x{cfg.net.channels}",
        "selfplay_games_per_hour": round(3600 * games / selfplay_s, 1),
        "selfplay_positions_per_s": round(positions / selfplay_s, 1),
        "selfplay_seconds": round(selfplay_s, 2),
        "selfplay_compile_seconds": round(selfplay_compile, 1),
        "train_steps_per_s": round(train_steps / train_s, 2),
        "train_positions_per_s": round(train_steps * cfg.train.batch_size / train_s, 1),
        "train_compile_seconds": round(train_compile, 1),
        "final_loss": float(m["loss/total"]),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }


_CHILD = """
import json, sys
from jaxzero import cli, paths
paths.enable_compilation_cache()
from jaxzero.bench.scaling import measure
a = json.loads(sys.argv[1])
cfg = cli.load_config(a["config"], a["overrides"])
print("SCALING " + json.dumps(measure(cfg, a["repeats"], a["train_steps"])), flush=True)
"""


def table(config: str, overrides: list[str], devices: list[int], repeats: int = 3, train_steps: int = 20,
          timeout: float = 1800.0, log=None) -> list[dict]:
    """`measure` on each device count, each in a subprocess with that many forced CPU devices.

    A count that fails (a batch that does not divide, a timeout) gives a row with ``error``."""
    rows = []
    for n in devices:
        # forced CPU devices can deadlock in a collective (docs/scaling.md): XLA aborts after 60 s, and
        # such a run is retried (3 tries)
        flags = f"--xla_force_host_platform_device_count={n} --xla_cpu_collective_call_terminate_timeout_seconds=60"
        env = dict(os.environ, XLA_FLAGS=flags, JAX_PLATFORMS="cpu")
        arg = json.dumps({"config": config, "overrides": overrides, "repeats": repeats, "train_steps": train_steps})
        try:
            for _ in range(3):
                out = subprocess.run([sys.executable, "-c", _CHILD, arg], cwd=ROOT, env=env, capture_output=True,
                                     text=True, timeout=timeout)
                if out.returncode == 0 or "Termination timeout for" not in out.stderr:
                    break
            found = [x for x in out.stdout.splitlines() if x.startswith("SCALING ")]
            last = (out.stderr.strip().splitlines() or ["no output"])[-1]  # the exception's own line
            row = json.loads(found[-1][8:]) if found else {"devices": n, "error": last[-500:]}
        except subprocess.TimeoutExpired:
            row = {"devices": n, "error": f"timed out after {timeout:.0f}s"}
        rows.append(row)
        if log is not None:
            log(row)
    return rows


def markdown(rows: list[dict]) -> str:
    """The table as Markdown: devices, games/hour, positions/s, train steps/s (each also relative to 1 device)."""
    base = next((r for r in rows if r.get("devices") == 1 and "error" not in r), None)
    lines = ["| devices | self-play games/hour | positions/s | x 1 device | train steps/s | x 1 device |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['devices']} | error: {r['error'][:160]} | | | | |")
            continue
        sp = r["selfplay_positions_per_s"] / base["selfplay_positions_per_s"] if base else float("nan")
        tr = r["train_steps_per_s"] / base["train_steps_per_s"] if base else float("nan")
        lines.append(f"| {r['devices']} | {r['selfplay_games_per_hour']:,.0f} | {r['selfplay_positions_per_s']:,.0f} | "
                     f"{sp:.2f} | {r['train_steps_per_s']:.2f} | {tr:.2f} |")
    return "\n".join(lines)
