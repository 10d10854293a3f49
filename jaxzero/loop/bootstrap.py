"""The first best of a fresh run, trained on heuristic games played without search (config.bootstrap).

The heuristic plays ``bootstrap.batch_size`` games at once for ``bootstrap.num_steps`` decisions
against itself (finished games restart). Their positions enter the replay buffer with the
heuristic's move as a one-hot policy target and the game outcome as value target; the last
``holdout_slots`` games are held out and give ``bootstrap/accuracy`` (top-1 agreement with the
heuristic). The candidate trains ``train_steps`` steps on them; the caller makes it the first best.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxzero import replay
from jaxzero.mesh import replicated
from jaxzero.loop.data import Window
from jaxzero.loop.training import mean_metrics, train_steps, trained_finite
from jaxzero.train import candidate_params

# in the first metrics row of a fresh run with config.bootstrap.num_steps > 0
BOOTSTRAP_METRIC_KEYS = (
    "bootstrap/positions",
    "bootstrap/games",
    "bootstrap/value_targets",
    "bootstrap/play_seconds",
    "bootstrap/train_seconds",
    "bootstrap/loss_policy",
    "bootstrap/loss_value",
    "bootstrap/accuracy",
    "bootstrap/heldout_loss_value",
)


def bootstrap_slots(cfg) -> tuple[slice, slice]:
    """``(training slots, held-out slots)`` of the bootstrap's game slots: the last
    ``bootstrap.holdout_slots`` games are held out."""
    b = cfg.bootstrap
    return slice(0, b.batch_size - b.holdout_slots), slice(b.batch_size - b.holdout_slots, b.batch_size)


def heuristic_window(parts, cfg, k_slots, k_play, progress: bool = False) -> Window:
    """The bootstrap's data: ``bootstrap.batch_size`` heuristic games without search played for
    ``bootstrap.num_steps`` decisions (finished games restart), labelled, replicated over the mesh."""
    b = cfg.bootstrap
    slots = parts.bootstrap_play.init_slots(b.batch_size, k_slots)
    chunk = cfg.selfplay.chunk_steps
    _, window = Window.play(lambda sl, k: parts.bootstrap_play.play(sl, k, num_steps=chunk), slots, k_play,
                            b.num_steps, chunk, "bootstrap: heuristic games", progress,
                            sharding=replicated(parts.mesh))
    return window


def bootstrap(parts, cfg, ts, buffer, key, *, progress: bool = False, log=print):
    """Fills ``buffer`` with heuristic games and trains ``ts`` on them: ``(ts, buffer, metrics)``.

    Raises FloatingPointError (nothing is saved) when training gives a non-finite loss or params.
    """
    b = cfg.bootstrap
    k_slots, k_play, k_train = jax.random.split(key, 3)
    window = heuristic_window(parts, cfg, k_slots, k_play, progress)
    train, held_out = bootstrap_slots(cfg)
    data = window.batch(train)
    # id -1: games still running at the end are never labelled by a self-play game of the same id
    buffer = replay.add(buffer, data.replace(game_id=jnp.full_like(data.game_id, -1)))
    jax.block_until_ready(buffer)
    t0 = time.time()
    ts, step_metrics = train_steps(parts.train_step, ts, buffer, k_train, b.train_steps, cfg.train.batch_size,
                                   "bootstrap: training", progress)
    train_seconds = time.time() - t0
    if not trained_finite(ts, step_metrics):
        raise FloatingPointError("bootstrap training gave a non-finite loss or params; nothing was saved")
    ev = {}
    if b.holdout_slots:
        held = window.batch(held_out)
        ev = jax.device_get(parts.evaluate(candidate_params(ts), held))
    last = mean_metrics(step_metrics[-64:])  # the losses of the last steps
    nan = float("nan")
    metrics = {
        "bootstrap/positions": int(np.prod(window.traj.done[:, train].shape)),
        "bootstrap/games": int(np.asarray(window.traj.done[:, train]).sum()),
        "bootstrap/value_targets": int(np.asarray(window.value_mask[:, train]).sum()),
        "bootstrap/play_seconds": round(window.seconds, 3),
        "bootstrap/train_seconds": round(train_seconds, 3),
        "bootstrap/loss_policy": last["loss/policy"],
        "bootstrap/loss_value": last["loss/value"],
        "bootstrap/accuracy": float(ev.get("policy_accuracy", nan)),  # top-1 agreement with the heuristic
        "bootstrap/heldout_loss_value": float(ev.get("loss/value", nan)),
    }
    log(
        f"bootstrap | {metrics['bootstrap/games']} heuristic games, {metrics['bootstrap/positions']} positions "
        f"in {window.seconds:.1f}s | {b.train_steps} train steps in {train_seconds:.1f}s | loss p "
        f"{metrics['bootstrap/loss_policy']:.3f} v {metrics['bootstrap/loss_value']:.3f} | held-out agreement "
        f"with the heuristic {metrics['bootstrap/accuracy']:.2f}"
    )
    return ts, buffer, metrics
