"""Optimizer and the jitted train step: policy cross-entropy + masked value MSE.

The step is driven from Python with a fixed batch shape (on CPU, conv gradients inside
``lax.scan`` are far slower than a plain jitted step).
"""

from __future__ import annotations

from typing import NamedTuple

import chex
import jax
import jax.numpy as jnp
import optax
from flax import struct

from jaxzero import mesh as mesh_lib
from jaxzero import replay
from jaxzero.search import mask_logits


@struct.dataclass
class TrainState:
    params: dict
    opt_state: optax.OptState
    step: jax.Array  # int32


def learning_rate_schedule(train_cfg, bootstrap_steps: int = 0) -> optax.Schedule:
    """Linear warmup + cosine decay of ``train_cfg.learning_rate``; when ``train_cfg.selfplay_learning_rate``
    > 0, every step from ``bootstrap_steps`` on (the steps after the heuristic bootstrap,
    `jaxzero.loop.bootstrap`) uses that constant rate instead."""
    schedule = optax.warmup_cosine_decay_schedule(
        init_value=0.0,
        peak_value=train_cfg.learning_rate,
        warmup_steps=train_cfg.warmup_steps,
        decay_steps=max(train_cfg.decay_steps, train_cfg.warmup_steps + 1),
        end_value=train_cfg.learning_rate * train_cfg.end_learning_rate_factor,
    )
    selfplay_lr = float(train_cfg.get("selfplay_learning_rate", 0.0))
    if selfplay_lr > 0:
        schedule = optax.join_schedules([schedule, optax.constant_schedule(selfplay_lr)], [int(bootstrap_steps)])
    return schedule


class ParamsEmaState(NamedTuple):
    """`params_ema`'s state: the moving average of the parameters."""

    ema: optax.Params


def params_ema(decay: float) -> optax.GradientTransformation:
    """Keeps an exponential moving average of the parameters after each update (put it last in a
    chain, so it sees the final updates): ``ema <- decay * ema + (1 - decay) * (params + updates)``,
    starting at the initial parameters. The updates pass through unchanged. `candidate_params` reads it."""
    if not 0.0 < decay < 1.0:
        raise ValueError(f"params_ema decay must be in (0, 1), got {decay}")

    def init(params):
        return ParamsEmaState(ema=jax.tree.map(jnp.array, params))  # a copy: never aliases the params

    def update(updates, state, params=None):
        if params is None:
            raise ValueError("params_ema needs the params: call update(updates, state, params)")
        new = optax.apply_updates(params, updates)
        return updates, ParamsEmaState(ema=optax.incremental_update(new, state.ema, 1.0 - decay))

    return optax.GradientTransformation(init, update)


def make_optimizer(train_cfg, bootstrap_steps: int = 0) -> optax.GradientTransformation:
    """AdamW at `learning_rate_schedule`, after global-norm clipping; with ``train_cfg.params_ema`` > 0,
    followed by `params_ema` at that decay (the average is the net the loop offers to the gate)."""
    parts = [
        optax.clip_by_global_norm(train_cfg.max_grad_norm),
        optax.adamw(learning_rate_schedule(train_cfg, bootstrap_steps), weight_decay=train_cfg.weight_decay),
    ]
    decay = float(train_cfg.get("params_ema", 0.0))
    if decay > 0:
        parts.append(params_ema(decay))
    return optax.chain(*parts)


def candidate_params(ts: TrainState):
    """The net the trainer offers (to the gate, the held-out metrics, a promotion): the moving average
    of the parameters when the optimizer keeps one (`params_ema`), else the parameters themselves."""
    for s in ts.opt_state if isinstance(ts.opt_state, tuple) else ():
        if isinstance(s, ParamsEmaState):
            return s.ema
    return ts.params


def init_train_state(params, optimizer) -> TrainState:
    return TrainState(params=params, opt_state=optimizer.init(params), step=jnp.zeros((), jnp.int32))


def mixed_value_targets(value, search_value, weight):
    """Q+z value targets ``[N, P]``: the outcome targets ``value [N, P]`` (mover-relative) with the mover's
    component moved a share ``weight`` toward the search's value ``search_value [N]`` (the chosen move's
    Q; NaN: the outcome alone), ``(1 - w) z_0 + w q``; the shift ``w (q - z_0)`` is taken evenly from the other seats,
    so a zero-sum target stays zero-sum (two players: ``(1 - w) z + w (q, -q)``)."""
    chex.assert_rank(value, 2)
    chex.assert_shape(search_value, value.shape[:1])
    p = value.shape[-1]
    has_q = jnp.isfinite(search_value)
    shift = jnp.where(has_q, weight * (jnp.where(has_q, search_value, 0.0) - value[:, 0]), 0.0)
    direction = jnp.concatenate([jnp.ones((1,)), jnp.full((p - 1,), -1.0 / max(p - 1, 1))])
    return value + shift[:, None] * direction.astype(value.dtype)


def losses(apply_fn, params, batch: replay.Batch, value_loss_weight=1.0, search_policy_weight=1.0,
           value_q_weight=0.0):
    """(total, metrics): policy CE against the improved policy over positions with a policy target
    (``policy_mask``; all when absent) + value MSE over positions with a value target.

    ``value_q_weight`` > 0 trains the value head on Q+z targets (`mixed_value_targets`: the outcome
    moved toward the search's value where the position has one); 0, the outcome alone.

    ``search_policy_weight`` scales the CE of positions whose move a search chose (``source`` 0,
    the default when absent); the mean is still over all positions with a policy target, so 0
    trains the policy on the other positions' targets (the heuristic's) alone."""
    logits, values = apply_fn(params, batch.obs)
    ce = optax.softmax_cross_entropy(logits, batch.policy)
    pmask = jnp.ones(ce.shape, jnp.float32) if batch.policy_mask is None else batch.policy_mask.astype(jnp.float32)
    searched = jnp.ones(ce.shape, bool) if batch.source is None else batch.source == replay.SOURCE_SEARCH
    weight = pmask * jnp.where(searched, search_policy_weight, 1.0)
    policy_loss = jnp.sum(ce * weight) / jnp.maximum(pmask.sum(), 1.0)
    mask = batch.value_mask.astype(jnp.float32)
    target = batch.value
    if value_q_weight and batch.search_value is not None:  # static: a float from the config
        target = mixed_value_targets(target, batch.search_value, value_q_weight)
    per_pos = jnp.mean((values - target) ** 2, axis=-1)
    value_loss = jnp.sum(per_pos * mask) / jnp.maximum(mask.sum(), 1.0)
    total = policy_loss + value_loss_weight * value_loss
    return total, {"loss/policy": policy_loss, "loss/value": value_loss, "loss/total": total}


def make_train_step(apply_fn, optimizer, value_loss_weight=1.0, mesh=None, search_policy_weight=1.0,
                    value_q_weight=0.0):
    """Jitted ``train_step(train_state, buffer, key, batch_size) -> (train_state, metrics)``.

    Samples a uniform minibatch of ``batch_size`` positions from the replay buffer, takes one
    optimizer step (`losses`: ``search_policy_weight`` scales the policy loss of searched positions,
    ``value_q_weight`` mixes the search's values into the value targets). Data-parallel over ``mesh`` (`jaxzero.mesh`; None: one device): the train
    state and key are replicated, the buffer's rows are split over ``"data"`` (`mesh.shard_rows`:
    each device holds ``capacity / n`` rows; a sampled row held by another device arrives through
    one small collective of the minibatch, never of the buffer), the minibatch ``[batch_size, ...]``
    is split over ``"data"`` (``batch_size`` divisible by the device count), and the gradient of the
    loss (a mean over the global minibatch) is reduced across devices by the compiler; the new state
    comes back replicated. The same program as on one device: equal results up to float summation order.
    """
    mesh = mesh if mesh is not None else mesh_lib.data_mesh(1)
    rep = mesh_lib.replicated(mesh)

    def train_step(ts: TrainState, buffer: replay.ReplayBuffer, key, batch_size: int):
        batch = mesh_lib.constrain_batch(replay.sample(buffer, key, batch_size), mesh)
        chex.assert_shape(batch.value_mask, (batch_size,))
        grad_fn = jax.value_and_grad(
            lambda p: losses(apply_fn, p, batch, value_loss_weight, search_policy_weight, value_q_weight),
            has_aux=True)
        (_, metrics), grads = grad_fn(ts.params)
        updates, opt_state = optimizer.update(grads, ts.opt_state, ts.params)
        params = optax.apply_updates(ts.params, updates)
        metrics["grad_norm"] = optax.tree.norm(grads)
        return TrainState(params=params, opt_state=opt_state, step=ts.step + 1), metrics

    # the buffer: None = the sharding it is placed with (shard_rows), its rows split over "data"
    jitted = jax.jit(train_step, static_argnames="batch_size", in_shardings=(rep, None, rep), out_shardings=rep)

    def step(ts: TrainState, buffer: replay.ReplayBuffer, key, batch_size: int):
        mesh_lib.check_batch("train batch_size", batch_size, mesh)
        # no-ops for inputs already placed (every step's output, the loop's buffer); a restored or fresh
        # state or buffer moves once
        ts, key = mesh_lib.replicate((ts, key), mesh)
        return jitted(ts, mesh_lib.shard_rows(buffer, mesh), key, batch_size)

    step.jitted = jitted  # for inspection (`.lower(...)`) and `_cache_size`
    step._cache_size = jitted._cache_size
    return step


def make_eval_fn(apply_fn, value_loss_weight=1.0, mesh=None):
    """Jitted ``evaluate(params, batch) -> metrics``: losses and top-1 agreement with the target (the
    net's most likely legal move is one of the target's most probable: tied best moves of a
    distillation target all count) (``batch`` [N, ...] any size; computed replicated on ``mesh``,
    None: one device)."""
    mesh = mesh if mesh is not None else mesh_lib.data_mesh(1)

    def evaluate(params, batch: replay.Batch):
        chex.assert_rank(batch.policy, 2)
        _, metrics = losses(apply_fn, params, batch, value_loss_weight)
        metrics["value_targets"] = batch.value_mask.sum()  # loss/value means nothing without any
        logits, _ = apply_fn(params, batch.obs)
        pick = jnp.argmax(mask_logits(logits, batch.legal), -1)
        target_at_pick = jnp.take_along_axis(batch.policy, pick[:, None], -1)[:, 0]
        agree = target_at_pick >= jnp.max(batch.policy, -1) * (1 - 1e-6)
        if batch.policy_mask is None:
            metrics["policy_accuracy"] = agree.mean()
        else:  # over positions with a policy target only
            pmask = batch.policy_mask.astype(jnp.float32)
            metrics["policy_accuracy"] = jnp.sum(agree * pmask) / jnp.maximum(pmask.sum(), 1.0)
        return metrics

    jitted = jax.jit(evaluate)

    def call(params, batch: replay.Batch):
        return jitted(*mesh_lib.replicate((params, batch), mesh))

    call._cache_size = jitted._cache_size
    return call
