"""bfloat16 against float32 inference on real positions: does the net still pick the same move?

The positions are every decision point of the first reference games of a trace file
(``$JAXZERO_SHARED/ringrift/traces``), rebuilt from their digests and observed by jaxzero's engine;
a net's move is the argmax of its legal logits. ``scripts/bench.py precision`` runs it on a workdir's
best net; tests/test_inference_dtype.py on a fresh one.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxzero.games.ringrift.env import RingRiftEnv
from jaxzero.games.ringrift.parity import notation, traces
from jaxzero.nn import make_inference_model, make_model


def trace_positions(path: Path, games: int) -> tuple[np.ndarray, np.ndarray]:
    """``(observations [N, H, W, C], legal masks [N, A])`` at every decision point of the first
    ``games`` games of the trace file ``path`` (a finished game's last position is left out)."""
    env, states = None, []
    for g in traces.load_games(path, max_games=games):
        cfg = traces.game_config(g)
        env = env or RingRiftEnv(cfg)
        for step in g["steps"]:
            if not step["bookkeeping"]:
                states.append(notation.state_from_digest(g["board"], cfg, step["digest"], **traces.thresholds(g)))
    batch = jax.tree.map(lambda *xs: np.stack(xs), *states)
    obs = jax.jit(jax.vmap(env.observe))(batch)
    legal = jax.jit(jax.vmap(env.legal_mask))(batch)
    keep = np.asarray(legal.any(axis=1))
    return np.asarray(obs)[keep], np.asarray(legal)[keep]


def argmax_agreement(net_cfg, game, params, obs: np.ndarray, legal: np.ndarray) -> dict:
    """The share of positions where the net computing in bfloat16 picks the move it picks in float32
    (same float32 ``params``), and the largest / mean absolute difference of the seat values."""
    f32 = ml_collections.ConfigDict(net_cfg.to_dict())
    f32.dtype = "float32"
    bf16 = ml_collections.ConfigDict(net_cfg.to_dict())
    bf16.inference_dtype = "bfloat16"

    def pick(apply_fn):
        logits, values = jax.jit(apply_fn)(params, jnp.asarray(obs))
        return np.asarray(jnp.argmax(jnp.where(legal, logits, -jnp.inf), axis=1)), np.asarray(values)

    a32, v32 = pick(make_model(f32, game)[0].apply)
    a16, v16 = pick(make_inference_model(bf16, game).apply)
    diff = np.abs(v32 - v16)
    return {"positions": int(len(obs)), "argmax_agreement": float(np.mean(a32 == a16)),
            "value_max_abs_diff": float(diff.max()), "value_mean_abs_diff": float(diff.mean())}
