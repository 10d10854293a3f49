"""Train steps driven from Python (one jitted step, fixed batch shape) and the checks on their result.

Convolution gradients inside `lax.scan` run ~15x slower on CPU than steps called one by one, so
the loop calls the jitted step ``num_steps`` times.
"""

from __future__ import annotations

import jax
import numpy as np

from jaxzero.loop.progress import steps


def train_steps(train_step, ts, buffer, key, num_steps: int, batch_size: int, desc: str | None = None,
                progress: bool = False):
    """``num_steps`` calls of ``train_step(ts, buffer, key, batch_size)``: ``(ts, [per-step metrics])``."""
    step_metrics = []
    # a redirected log gets one line per 100 steps
    for s in steps(num_steps, desc or "", "steps", desc is not None and progress, every=100,
                   sync=lambda: jax.block_until_ready(step_metrics[-1])):
        ts, m = train_step(ts, buffer, jax.random.fold_in(key, s), batch_size)
        step_metrics.append(m)
    return ts, jax.device_get(step_metrics)


def all_finite(tree) -> bool:
    """Whether every leaf of ``tree`` is finite."""
    return all(bool(np.all(np.isfinite(np.asarray(x)))) for x in jax.tree.leaves(tree))


def trained_finite(ts, step_metrics) -> bool:
    """Whether the steps' total losses and the resulting params are all finite."""
    return all_finite([m["loss/total"] for m in step_metrics]) and all_finite(ts.params)


def mean_metrics(step_metrics) -> dict:
    """The mean of each per-step metric."""
    return {k: float(np.mean([m[k] for m in step_metrics])) for k in step_metrics[0]}
