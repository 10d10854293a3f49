"""Replay ring buffer: wraparound, size, uniform sampling of filled rows only."""

import jax
import jax.numpy as jnp
import numpy as np

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


def test_add_wraps_around():
    buf = replay.init_buffer(5, (2, 2), 3, 2)
    buf = replay.add(buf, make_batch(0, 3))
    assert int(buf.size) == 3 and int(buf.ptr) == 3
    buf = replay.add(buf, make_batch(3, 3))  # rows 3, 4, then 0
    assert int(buf.size) == 5 and int(buf.ptr) == 1
    np.testing.assert_array_equal(buf.data.policy[:, 0], [5, 1, 2, 3, 4])
    np.testing.assert_array_equal(buf.data.obs[:, 0, 0], [5, 1, 2, 3, 4])
    np.testing.assert_array_equal(buf.data.value_mask, [True, False, True, True, False])


def test_add_more_than_capacity_keeps_newest():
    buf = replay.init_buffer(4, (2, 2), 3, 2)
    buf = replay.add(buf, make_batch(0, 1))
    buf = replay.add(buf, make_batch(10, 6))  # keeps 12..15
    assert int(buf.size) == 4
    assert sorted(np.asarray(buf.data.policy[:, 0]).tolist()) == [12, 13, 14, 15]


def test_sample_only_filled_rows_uniformly():
    buf = replay.init_buffer(100, (2, 2), 3, 2)
    buf = replay.add(buf, make_batch(1, 10))  # values 1..10 in rows 0..9; rows 10.. are zeros
    out = replay.sample(buf, jax.random.key(0), batch_size=4000)
    vals = np.asarray(out.policy[:, 0])
    assert out.obs.shape == (4000, 2, 2)
    assert vals.min() >= 1 and vals.max() <= 10
    counts = np.bincount(vals.astype(int), minlength=11)[1:]
    assert counts.min() > 300 and counts.max() < 500  # ~400 each
