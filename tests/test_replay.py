"""Replay ring buffer: wraparound, size, uniform sampling of filled rows only, compact storage
(K policy slots, packed legal bits) that reads back exactly."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxzero import replay


def make_batch(start, n, A=3, P=2):
    ids = jnp.arange(start, start + n, dtype=jnp.float32)
    return replay.Batch(
        obs=jnp.broadcast_to(ids[:, None, None], (n, 2, 2)),
        policy=jnp.broadcast_to(ids[:, None], (n, A)),
        value=jnp.broadcast_to(ids[:, None], (n, P)),
        value_mask=(jnp.arange(n) % 2 == 0),
        legal=jnp.ones((n, A), bool),
    )


def _all_rows(buf):
    return replay.rows(buf, jnp.arange(buf.capacity))


def test_add_wraps_around():
    buf = replay.init_buffer(5, (2, 2), 3, 2)
    buf = replay.add(buf, make_batch(0, 3))
    assert int(buf.size) == 3 and int(buf.ptr) == 3
    buf = replay.add(buf, make_batch(3, 3))  # rows 3, 4, then 0
    assert int(buf.size) == 5 and int(buf.ptr) == 1
    np.testing.assert_array_equal(_all_rows(buf).policy[:, 0], [5, 1, 2, 3, 4])
    np.testing.assert_array_equal(buf.data.obs[:, 0, 0], [5, 1, 2, 3, 4])
    np.testing.assert_array_equal(buf.data.value_mask, [True, False, True, True, False])


def test_add_more_than_capacity_keeps_newest():
    buf = replay.init_buffer(4, (2, 2), 3, 2)
    buf = replay.add(buf, make_batch(0, 1))
    buf = replay.add(buf, make_batch(10, 6))  # keeps 12..15
    assert int(buf.size) == 4
    assert sorted(np.asarray(_all_rows(buf).policy[:, 0]).tolist()) == [12, 13, 14, 15]


def test_sample_only_filled_rows_uniformly():
    buf = replay.init_buffer(100, (2, 2), 3, 2)
    buf = replay.add(buf, make_batch(1, 10))  # values 1..10 in rows 0..9; rows 10.. are zeros
    out = replay.sample(buf, jax.random.key(0), batch_size=4000)
    vals = np.asarray(out.policy[:, 0])
    assert out.obs.shape == (4000, 2, 2)
    assert vals.min() >= 1 and vals.max() <= 10
    counts = np.bincount(vals.astype(int), minlength=11)[1:]
    assert counts.min() > 300 and counts.max() < 500  # ~400 each


def _random_rows(rng, n, A, K, first_id=0, obs_shape=(3,)):
    """Dense batch: each row has 1..K legal actions, a random target over a random subset of them."""
    legal = np.zeros((n, A), bool)
    policy = np.zeros((n, A), np.float32)
    for i in range(n):
        ids = rng.choice(A, size=rng.integers(1, K + 1), replace=False)
        legal[i, ids] = True
        mass = ids[rng.random(len(ids)) < 0.7]
        mass = mass if len(mass) else ids[:1]
        p = rng.random(len(mass)).astype(np.float32)
        policy[i, mass] = p / p.sum()
    return replay.Batch(obs=jnp.asarray(rng.random((n, *obs_shape)), jnp.float32), policy=jnp.asarray(policy),
                        value=jnp.asarray(rng.random((n, 2)), jnp.float32), value_mask=jnp.asarray(rng.random(n) < .5),
                        legal=jnp.asarray(legal), game_id=jnp.arange(first_id, first_id + n, dtype=jnp.int32),
                        search_value=jnp.asarray(np.where(rng.random(n) < .5, rng.random(n), np.nan), jnp.float32))


@pytest.mark.parametrize("A,K", [(4681, 256), (37, 5), (9, None)])
def test_compact_rows_read_back_exactly_across_wraparound(A, K):
    rng = np.random.default_rng(A)
    cap = 50
    buf = replay.init_buffer(cap, (3,), A, 2, policy_slots=K)
    assert buf.capacity == cap and buf.policy_slots == (K or A)
    assert buf.data.legal_bits.shape == (cap, -(-A // 8)) and buf.data.legal_bits.dtype == jnp.uint8
    assert buf.data.policy_ids.shape == (cap, K or A) and buf.data.policy_ids.dtype == jnp.int16
    first, second = _random_rows(rng, 30, A, K or A), _random_rows(rng, 40, A, K or A, first_id=100)
    buf = replay.add(replay.add(buf, first), second)  # 70 rows into 50: second wraps onto rows 0..19
    assert int(buf.size) == cap and int(buf.ptr) == 20 and float(buf.policy_dropped) == 0.0
    got = jax.device_get(_all_rows(buf))
    order = np.r_[20:50, 0:20]  # oldest first: first[20:30] (rows 20..29), then second (rows 30..49, 0..19)
    want = jax.tree.map(lambda a, b: np.concatenate([np.asarray(a)[20:30], np.asarray(b)]), first, second)
    for field in ("obs", "policy", "value", "value_mask", "legal", "game_id", "search_value"):
        np.testing.assert_array_equal(getattr(got, field)[order], getattr(want, field), err_msg=field)
    assert got.policy.dtype == np.float32 and got.legal.dtype == bool and got.policy.shape == (cap, A)
    s = replay.sample(buf, jax.random.key(1), batch_size=64)  # sample hands out the same dense rows
    assert s.policy.shape == (64, A) and s.legal.shape == (64, A)
    match = (np.asarray(s.game_id)[:, None] == got.game_id[None, :]).argmax(-1)
    np.testing.assert_array_equal(np.asarray(s.policy), got.policy[match])
    np.testing.assert_array_equal(np.asarray(s.legal), got.legal[match])


def test_a_target_with_more_than_k_entries_keeps_its_k_largest_and_counts_the_rest():
    A, K = 20, 3
    policy = np.zeros((2, A), np.float32)
    policy[0, [1, 4, 7, 9, 15]] = [0.1, 0.4, 0.05, 0.3, 0.15]  # 5 > K entries: keeps 4, 9, 15
    policy[1, [2, 3]] = [0.25, 0.75]  # within K: exact
    batch = replay.Batch(obs=jnp.zeros((2, 1)), policy=jnp.asarray(policy), value=jnp.zeros((2, 2)),
                         value_mask=jnp.zeros(2, bool), legal=jnp.asarray(policy > 0))
    buf = replay.add(replay.init_buffer(4, (1,), A, 2, policy_slots=K), batch)
    got = np.asarray(replay.rows(buf, jnp.arange(2)).policy)
    want = policy.copy()
    want[0, [1, 7]] = 0
    np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(float(buf.policy_dropped), 0.15, rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(replay.rows(buf, jnp.arange(2)).legal), policy > 0)  # all legal kept
