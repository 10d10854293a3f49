"""Optimizer and the jitted train step: policy cross-entropy + masked value MSE.

The step is driven from Python with a fixed batch shape (on CPU, conv gradients inside
``lax.scan`` are far slower than a plain jitted step).
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import optax
from flax import struct

from jaxzero import replay
from jaxzero.search import mask_logits


@struct.dataclass
class TrainState:
    params: dict
    opt_state: optax.OptState
    step: jax.Array  # int32


def make_optimizer(train_cfg) -> optax.GradientTransformation:
    """AdamW with linear warmup + cosine decay, after global-norm clipping."""
    schedule = optax.warmup_cosine_decay_schedule(
        init_value=0.0,
        peak_value=train_cfg.learning_rate,
        warmup_steps=train_cfg.warmup_steps,
        decay_steps=max(train_cfg.decay_steps, train_cfg.warmup_steps + 1),
        end_value=train_cfg.learning_rate * train_cfg.end_learning_rate_factor,
    )
    return optax.chain(
        optax.clip_by_global_norm(train_cfg.max_grad_norm),
        optax.adamw(schedule, weight_decay=train_cfg.weight_decay),
    )


def init_train_state(params, optimizer) -> TrainState:
    return TrainState(params=params, opt_state=optimizer.init(params), step=jnp.zeros((), jnp.int32))


def losses(apply_fn, params, batch: replay.Batch, value_loss_weight=1.0):
    """(total, metrics): policy CE against the improved policy over positions with a policy target
    (``policy_mask``; all when absent) + value MSE over positions with a value target."""
    logits, values = apply_fn(params, batch.obs)
    ce = optax.softmax_cross_entropy(logits, batch.policy)
    if batch.policy_mask is None:
        policy_loss = ce.mean()
    else:
        pmask = batch.policy_mask.astype(jnp.float32)
        policy_loss = jnp.sum(ce * pmask) / jnp.maximum(pmask.sum(), 1.0)
    mask = batch.value_mask.astype(jnp.float32)
    per_pos = jnp.mean((values - batch.value) ** 2, axis=-1)
    value_loss = jnp.sum(per_pos * mask) / jnp.maximum(mask.sum(), 1.0)
    total = policy_loss + value_loss_weight * value_loss
    return total, {"loss/policy": policy_loss, "loss/value": value_loss, "loss/total": total}


def make_train_step(apply_fn, optimizer, value_loss_weight=1.0):
    """Jitted ``train_step(train_state, buffer, key, batch_size) -> (train_state, metrics)``.

    Samples a uniform minibatch from the replay buffer, takes one optimizer step.
    """

    def train_step(ts: TrainState, buffer: replay.ReplayBuffer, key, batch_size: int):
        batch = replay.sample(buffer, key, batch_size)
        chex.assert_shape(batch.value_mask, (batch_size,))
        grad_fn = jax.value_and_grad(lambda p: losses(apply_fn, p, batch, value_loss_weight), has_aux=True)
        (_, metrics), grads = grad_fn(ts.params)
        updates, opt_state = optimizer.update(grads, ts.opt_state, ts.params)
        params = optax.apply_updates(ts.params, updates)
        metrics["grad_norm"] = optax.tree.norm(grads)
        return TrainState(params=params, opt_state=opt_state, step=ts.step + 1), metrics

    return jax.jit(train_step, static_argnames="batch_size")


def make_eval_fn(apply_fn, value_loss_weight=1.0):
    """Jitted ``evaluate(params, batch) -> metrics``: losses and top-1 agreement with the search target."""

    def evaluate(params, batch: replay.Batch):
        chex.assert_rank(batch.policy, 2)
        _, metrics = losses(apply_fn, params, batch, value_loss_weight)
        metrics["value_targets"] = batch.value_mask.sum()  # loss/value means nothing without any
        logits, _ = apply_fn(params, batch.obs)
        agree = jnp.argmax(mask_logits(logits, batch.legal), -1) == jnp.argmax(batch.policy, -1)
        if batch.policy_mask is None:
            metrics["policy_accuracy"] = agree.mean()
        else:  # over positions with a policy target only
            pmask = batch.policy_mask.astype(jnp.float32)
            metrics["policy_accuracy"] = jnp.sum(agree * pmask) / jnp.maximum(pmask.sum(), 1.0)
        return metrics

    return jax.jit(evaluate)
