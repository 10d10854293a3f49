"""Helpers shared by several test modules (toy games, models, positions)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def linear_model(game, key, *, logit_scale: float = 0.5, value_scale: float = 0.3):
    """``(apply_fn, params)`` of a tiny deterministic network: ``logits = x W``, ``v = tanh(x w)``,
    mover-relative values ``[v, -v]`` (2 players) or ``[v, -v/(P-1), ...]`` (zero-sum), ``x`` the
    flattened observation."""
    d = int(np.prod(game.observation_shape))
    k1, k2 = jax.random.split(key)
    params = {
        "W": jax.random.normal(k1, (d, game.num_actions)) * logit_scale,
        "w": jax.random.normal(k2, (d,)) * value_scale,
    }
    p = game.num_players

    def apply_fn(params, obs):
        x = obs.reshape(obs.shape[0], -1).astype(jnp.float32)
        v = jnp.tanh(x @ params["w"])
        others = jnp.broadcast_to((-v / (p - 1))[:, None], (v.shape[0], p - 1))
        return x @ params["W"], jnp.concatenate([v[:, None], others], axis=-1)

    return apply_fn, params


def deterministic_row(row: dict) -> dict:
    """A metrics row without its timings and memory readings (keys ending in ``_seconds`` or ``_mib``; NaN
    as a string, so rows compare with ==): what two runs of one seed must agree on."""
    import math

    return {k: ("nan" if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()
            if not k.endswith(("_seconds", "_mib"))}


def metrics_rows(workdir) -> list:
    """The rows of a run's ``metrics.jsonl``."""
    import json
    from pathlib import Path

    return [json.loads(x) for x in (Path(workdir) / "metrics.jsonl").read_text().splitlines()]


def final_state(workdir, lp):
    """``(iteration, state)`` of a run's latest checkpoint, restored against ``lp.initial_state``'s shapes."""
    from pathlib import Path

    from jaxzero.checkpoint import Checkpointer

    ck = Checkpointer(Path(workdir) / "checkpoints")
    try:
        it = ck.latest_iteration()
        state, _, _ = ck.restore(it, jax.eval_shape(lp.initial_state))
    finally:
        ck.close()
    return it, state
