"""Train step: the loss falls on a fixed buffer; the value loss ignores masked positions; schedule shape."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from jaxzero import replay
from jaxzero.config import default_config
from jaxzero.games.registry import make_game
from jaxzero.nn import make_model
from jaxzero.train import init_train_state, learning_rate_schedule, losses, make_eval_fn, make_optimizer, make_train_step


@pytest.fixture(scope="module")
def setup():
    game = make_game("tic_tac_toe")
    cfg = default_config()
    cfg.net.num_blocks, cfg.net.channels, cfg.net.value_hidden = 1, 8, 16
    cfg.train.learning_rate, cfg.train.warmup_steps = 1e-2, 1
    model, params = make_model(cfg.net, game)
    return game, cfg, model, params


def fixed_buffer(n=64):
    k1, k2, k3 = jax.random.split(jax.random.key(0), 3)
    obs = jax.random.bernoulli(k1, 0.3, (n, 3, 3, 2)).astype(jnp.float32)
    target = jax.nn.one_hot(jax.random.randint(k2, (n,), 0, 9), 9)
    v = jnp.where(jax.random.bernoulli(k3, 0.5, (n,)), 1.0, -1.0)
    batch = replay.Batch(obs=obs, policy=target, value=jnp.stack([v, -v], -1), value_mask=jnp.ones(n, bool), legal=jnp.ones((n, 9), bool))
    return replay.add(replay.init_buffer(n, (3, 3, 2), 9, 2), batch), batch


def test_loss_decreases_and_accuracy_rises(setup):
    game, cfg, model, params = setup
    opt = make_optimizer(cfg.train)
    step = make_train_step(model.apply, opt)
    evaluate = make_eval_fn(model.apply)
    buf, batch = fixed_buffer()
    ts = init_train_state(params, opt)
    before = evaluate(ts.params, batch)
    for i in range(150):
        ts, m = step(ts, buf, jax.random.key(i), batch_size=32)
    after = evaluate(ts.params, batch)
    assert step._cache_size() == 1
    assert int(ts.step) == 150
    assert float(after["loss/policy"]) < 0.5 * float(before["loss/policy"])
    assert float(after["loss/value"]) < 0.5 * float(before["loss/value"])
    assert float(after["policy_accuracy"]) > 0.8 > float(before["policy_accuracy"])


def test_agreement_counts_any_of_the_targets_tied_best_moves(setup):
    """Top-1 agreement: the net's most likely legal move is one of the target's most probable, so a
    distillation target that spreads its mass over tied best moves counts each of them."""
    game, cfg, model, params = setup
    _, batch = fixed_buffer(8)
    logits, _ = model.apply(params, batch.obs)
    pick = np.asarray(jnp.argmax(logits, -1))
    other = (pick + 1) % 9
    evaluate = make_eval_fn(model.apply)
    tied = jnp.asarray((np.eye(9)[pick] + np.eye(9)[other]) / 2, jnp.float32)
    assert float(evaluate(params, batch.replace(policy=tied))["policy_accuracy"]) == 1.0
    below = jnp.asarray(0.4 * np.eye(9)[pick] + 0.6 * np.eye(9)[other], jnp.float32)
    assert float(evaluate(params, batch.replace(policy=below))["policy_accuracy"]) == 0.0


def test_value_loss_ignores_masked_positions(setup):
    game, cfg, model, params = setup
    _, batch = fixed_buffer(8)
    _, values = model.apply(params, batch.obs)
    exact = batch.replace(value=values, value_mask=jnp.ones(8, bool))
    _, m = losses(model.apply, params, exact)
    assert float(m["loss/value"]) < 1e-10
    # garbage targets on masked rows change nothing
    garbage = exact.replace(value=exact.value.at[4:].set(123.0), value_mask=jnp.arange(8) < 4)
    _, m2 = losses(model.apply, params, garbage)
    assert float(m2["loss/value"]) < 1e-10
    _, m3 = losses(model.apply, params, garbage.replace(value_mask=jnp.ones(8, bool)))
    assert float(m3["loss/value"]) > 1.0


def test_schedule_warms_up_then_decays():
    c = ml_collections.ConfigDict(
        dict(learning_rate=1.0, warmup_steps=10, decay_steps=100, end_learning_rate_factor=0.1, weight_decay=0.0, max_grad_norm=1e9)
    )
    opt = make_optimizer(c)
    params = {"w": jnp.zeros(())}
    state = opt.init(params)
    moves = []
    for _ in range(100):
        upd, state = opt.update({"w": jnp.ones(())}, state, params)
        moves.append(-float(upd["w"]))
    moves = np.array(moves)
    assert moves[0] == 0.0 and moves[5] < moves[10]  # warmup
    assert moves[99] < 0.2 * moves[10]  # cosine decay to 10%


def test_selfplay_learning_rate_replaces_the_schedule_after_the_bootstrap():
    """train.selfplay_learning_rate: the bootstrap's steps follow the warmup-cosine schedule, every later
    step the constant rate (the optimizer's own count carries the switch across checkpoints)."""
    c = ml_collections.ConfigDict(
        dict(learning_rate=1.0, warmup_steps=10, decay_steps=100, end_learning_rate_factor=0.1, weight_decay=0.0,
             max_grad_norm=1e9, selfplay_learning_rate=0.03)
    )
    sched = learning_rate_schedule(c, bootstrap_steps=40)
    off = ml_collections.ConfigDict(c.to_dict())
    off.selfplay_learning_rate = 0.0
    plain = learning_rate_schedule(off, 40)
    for step in (0, 5, 20, 39):
        assert float(sched(step)) == pytest.approx(float(plain(step)))
    assert float(plain(40)) > 0.5
    for step in (40, 41, 1000):
        assert float(sched(step)) == pytest.approx(0.03)
    # the optimizer moves at that rate (Adam's first steps move by ~lr per unit gradient)
    opt = make_optimizer(c, bootstrap_steps=0)
    params = {"w": jnp.zeros(())}
    upd, _ = opt.update({"w": jnp.ones(())}, opt.init(params), params)
    assert -float(upd["w"]) == pytest.approx(0.03, rel=1e-3)


def test_params_ema_averages_the_trained_params_and_is_the_candidate(setup):
    """train.params_ema: the optimizer keeps ema <- d ema + (1 - d) params after every step, starting at
    the initial params; `candidate_params` offers it, while training goes on from the raw params."""
    from jaxzero.train import ParamsEmaState, candidate_params, params_ema

    game, cfg, model, params = setup
    c = ml_collections.ConfigDict(cfg.to_dict())
    c.train.params_ema = 0.9
    opt = make_optimizer(c.train)
    step = make_train_step(model.apply, opt, c.train.value_loss_weight)
    buf, _ = fixed_buffer()
    ts = init_train_state(params, opt)
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(candidate_params(ts)), jax.tree.leaves(params)))
    expected = params
    for s in range(4):
        ts, _ = step(ts, buf, jax.random.key(s), 16)
        expected = jax.tree.map(lambda e, p: 0.9 * e + 0.1 * p, expected, ts.params)
    got = candidate_params(ts)
    for e, g, p in zip(jax.tree.leaves(expected), jax.tree.leaves(got), jax.tree.leaves(ts.params)):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)
    assert not all(np.allclose(g, p) for g, p in zip(jax.tree.leaves(got), jax.tree.leaves(ts.params)))
    # off (the default): the candidate is the trained params, and the optimizer keeps no average
    plain = init_train_state(params, make_optimizer(cfg.train))
    assert candidate_params(plain) is plain.params
    assert not any(isinstance(s, ParamsEmaState) for s in plain.opt_state)
    with pytest.raises(ValueError, match="decay"):
        params_ema(1.0)
