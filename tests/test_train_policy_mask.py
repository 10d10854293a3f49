"""Positions without a policy target (heuristic moves) carry zero policy-loss weight; value loss unchanged."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxzero import replay
from jaxzero.train import losses


def test_policy_mask_weights_the_cross_entropy():
    n, a = 6, 4
    k1, k2, k3 = jax.random.split(jax.random.key(0), 3)
    logits = jax.random.normal(k1, (n, a))
    values = jnp.tanh(jax.random.normal(k2, (n, 2)))
    target = jax.nn.softmax(jax.random.normal(k3, (n, a)))

    def apply_fn(params, obs):
        return logits, values

    def batch(mask):
        return replay.Batch(obs=jnp.zeros((n, 1)), policy=target, value=jnp.zeros((n, 2)),
                            value_mask=jnp.ones(n, bool), legal=jnp.ones((n, a), bool),
                            policy_mask=None if mask is None else jnp.asarray(mask))

    ce = np.asarray(optax.softmax_cross_entropy(logits, target))
    _, full = losses(apply_fn, None, batch(None))
    _, half = losses(apply_fn, None, batch([1, 0, 1, 0, 1, 0]))
    _, none = losses(apply_fn, None, batch([0] * n))
    np.testing.assert_allclose(full["loss/policy"], ce.mean(), rtol=1e-6)
    np.testing.assert_allclose(half["loss/policy"], ce[::2].mean(), rtol=1e-6)
    assert float(none["loss/policy"]) == 0.0
    np.testing.assert_allclose(half["loss/value"], full["loss/value"])
    # gradients of the policy loss vanish on unmasked rows
    g = jax.grad(lambda lg: losses(lambda p, o: (lg, values), None, batch([1, 0, 1, 0, 1, 0]))[0])(logits)
    assert np.all(np.asarray(g)[1::2] == 0.0) and np.any(np.asarray(g)[::2] != 0.0)


def test_replay_add_fills_provenance_defaults():
    buf = replay.init_buffer(4, (2,), 3, 2)
    b = replay.Batch(obs=jnp.ones((2, 2)), policy=jnp.ones((2, 3)) / 3, value=jnp.zeros((2, 2)),
                     value_mask=jnp.ones(2, bool), legal=jnp.ones((2, 3), bool))
    buf = replay.add(buf, b)
    np.testing.assert_array_equal(buf.data.policy_mask, [True, True, False, False])
    np.testing.assert_array_equal(buf.data.source, 0)
    np.testing.assert_array_equal(buf.data.game_id, -1)
    assert np.isnan(np.asarray(buf.data.search_value)).all()  # no search saw these rows


def test_q_plus_z_targets_move_the_movers_outcome_toward_the_search_value_and_stay_zero_sum():
    from jaxzero.train import mixed_value_targets

    z2 = jnp.asarray([[1.0, -1.0], [-1.0, 1.0], [0.0, 0.0]])
    q = jnp.asarray([0.2, jnp.nan, -0.6])
    got = np.asarray(mixed_value_targets(z2, q, 0.25))
    np.testing.assert_allclose(got, [[0.8, -0.8], [-1.0, 1.0], [-0.15, 0.15]], atol=1e-6)  # NaN: z alone
    np.testing.assert_allclose(mixed_value_targets(z2, q, 1.0)[0], [0.2, -0.2], atol=1e-6)
    np.testing.assert_array_equal(mixed_value_targets(z2, q, 0.0), z2)
    z3 = jnp.asarray([[1.0, 0.0, -1.0]])  # three seats (rank outcomes): the shift comes evenly off the others
    got3 = np.asarray(mixed_value_targets(z3, jnp.asarray([0.0]), 0.5))
    np.testing.assert_allclose(got3, [[0.5, 0.25, -0.75]], atol=1e-6)
    np.testing.assert_allclose(got3.sum(-1), 0.0, atol=1e-6)


def test_value_q_weight_trains_the_value_head_on_the_mixed_targets():
    n = 4
    values = jnp.asarray([[0.5, -0.5], [0.1, -0.1], [0.0, 0.0], [-0.3, 0.3]])
    z = jnp.asarray([[1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [-1.0, 1.0]])
    q = jnp.asarray([0.5, 0.1, jnp.nan, -0.3])  # the net already predicts q on the searched rows
    b = replay.Batch(obs=jnp.zeros((n, 1)), policy=jnp.ones((n, 3)) / 3, value=z, value_mask=jnp.ones(n, bool),
                     legal=jnp.ones((n, 3), bool), search_value=q)
    apply_fn = lambda p, o: (jnp.zeros((n, 3)), values)  # noqa: E731
    _, plain = losses(apply_fn, None, b)
    _, all_q = losses(apply_fn, None, b, value_q_weight=1.0)
    want_plain = np.mean(np.mean((np.asarray(values) - np.asarray(z)) ** 2, -1))
    np.testing.assert_allclose(plain["loss/value"], want_plain, rtol=1e-6)
    # weight 1: the searched rows' targets are their q (zero error); the unsearched row keeps z (error 1)
    np.testing.assert_allclose(all_q["loss/value"], 1.0 / n, rtol=1e-6)


def test_search_policy_weight_scales_only_searched_positions():
    """``search_policy_weight`` scales the CE of searched positions (source 0); heuristic positions
    (source 1) keep weight 1; the mean stays over every position with a policy target."""
    n, a = 6, 4
    k1, k2 = jax.random.split(jax.random.key(1))
    logits = jax.random.normal(k1, (n, a))
    target = jax.nn.softmax(jax.random.normal(k2, (n, a)))
    source = jnp.asarray([replay.SOURCE_SEARCH, replay.SOURCE_HEURISTIC] * 3, jnp.int8)
    b = replay.Batch(obs=jnp.zeros((n, 1)), policy=target, value=jnp.zeros((n, 2)), value_mask=jnp.ones(n, bool),
                     legal=jnp.ones((n, a), bool), source=source, policy_mask=jnp.ones(n, bool))
    ce = np.asarray(optax.softmax_cross_entropy(logits, target))
    apply_fn = lambda p, o: (logits, jnp.zeros((n, 2)))  # noqa: E731
    for w in (1.0, 0.25, 0.0):
        _, m = losses(apply_fn, None, b, search_policy_weight=w)
        np.testing.assert_allclose(m["loss/policy"], (w * ce[::2].sum() + ce[1::2].sum()) / n, rtol=1e-6)
    # weight 0: no policy gradient reaches the searched rows
    g = jax.grad(lambda lg: losses(lambda p, o: (lg, jnp.zeros((n, 2))), None, b, search_policy_weight=0.0)[0])(logits)
    assert np.all(np.asarray(g)[::2] == 0.0) and np.all(np.any(np.asarray(g)[1::2] != 0.0, axis=-1))
