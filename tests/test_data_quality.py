"""Zobrist hashes of observations on device and the per-window data-quality statistics."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxzero.data_quality import hashes_to_u64, window_stats, zobrist_hash, zobrist_keys
from jaxzero.selfplay import Trajectory


def test_zobrist_hash_is_a_fixed_xor_of_element_keys():
    shape = (3, 3, 2)
    keys = zobrist_keys(shape)
    np.testing.assert_array_equal(keys, zobrist_keys(shape))  # fixed keys: comparable across runs
    assert keys.dtype == jnp.uint32 and keys.shape == (2, 2, 18)
    rng = np.random.default_rng(0)
    a = rng.random(shape) < 0.3
    b = (rng.random(shape) < 0.3) & ~a
    ha, hb, hab, h0 = (np.asarray(zobrist_hash(jnp.asarray(x), keys)) for x in (a, b, a | b, np.zeros(shape, bool)))
    np.testing.assert_array_equal(hab, ha ^ hb)  # disjoint 0/1 planes: XOR of the parts
    np.testing.assert_array_equal(h0, 0)
    # batched over leading axes, bool and float observations agree
    batch = jnp.stack([jnp.asarray(a), jnp.asarray(b)])[None]
    hb2 = np.asarray(zobrist_hash(batch.astype(jnp.float32), keys))
    assert hb2.shape == (1, 2, 2)
    np.testing.assert_array_equal(hb2[0, 0], ha)
    # every single-element change gives a distinct 64-bit hash
    singles = jnp.eye(18, dtype=jnp.float32).reshape((18,) + shape)
    u = hashes_to_u64(zobrist_hash(singles, keys))
    assert len(set(u.tolist())) == 18
    # non-binary values are hashed by value
    assert hashes_to_u64(zobrist_hash(jnp.asarray(a) * 2.0, keys)) != hashes_to_u64(ha)


def test_window_stats_duplicates_lengths_terminations_and_seats():
    # 2 slots x 5 steps; slot 0: a 3-move game won by seat 0, then a 2-move game (truncated);
    # slot 1: a 4-move drawn game, then an unfinished one
    t, b, p = 5, 2, 2
    done = np.array([[0, 0], [0, 0], [1, 0], [0, 1], [1, 0]], bool)
    trunc = np.array([[0, 0], [0, 0], [0, 0], [0, 0], [1, 0]], bool)
    moves = np.array([[0, 0], [1, 1], [2, 2], [0, 3], [1, 0]])
    returns = np.zeros((t, b, p), np.float32)
    returns[2, 0] = [1, -1]
    obs_id = np.array([[0, 0], [1, 2], [3, 4], [0, 5], [1, 0]])  # id 0 four times, id 1 twice: 4 repeats in 10
    obs = np.eye(8, dtype=np.float32)[obs_id]
    traj = Trajectory(obs=jnp.asarray(obs), policy=None, mover=jnp.asarray(moves % 2), legal=None,
                      game_id=None, valid=jnp.ones((t, b), bool), done=jnp.asarray(done),
                      truncated=jnp.asarray(trunc), returns=jnp.asarray(returns), moves=jnp.asarray(moves))
    hashes = zobrist_hash(traj.obs, zobrist_keys((8,)))
    s = window_stats(traj, hashes, slice(0, 2))
    assert s["data/positions_hashed"] == 10
    assert s["data/duplicate_rate"] == 0.4
    assert s["data/games_ended"] == 3 and s["data/term/truncated"] == 1
    assert s["data/length/mean"] == 3.0 and s["data/length/max"] == 4 and s["data/length/min"] == 2
    assert s["data/term/decisive"] == 1 and s["data/term/drawn"] == 1
    assert s["data/seat0/outcome"] == 0.5 and s["data/seat1/outcome"] == -0.5
    assert s["data/seat0/win_rate"] == 0.5 and s["data/seat1/win_rate"] == 0.0
    # one slot only
    s1 = window_stats(traj, hashes, slice(1, 2))
    assert s1["data/games_ended"] == 1 and s1["data/length/max"] == 4


def test_window_without_finished_games_keeps_every_key():
    t, b = 2, 1
    traj = Trajectory(obs=jnp.zeros((t, b, 4)), policy=None, mover=jnp.zeros((t, b), jnp.int32), legal=None,
                      game_id=None, valid=jnp.ones((t, b), bool), done=jnp.zeros((t, b), bool),
                      truncated=jnp.zeros((t, b), bool), returns=jnp.zeros((t, b, 3)), moves=jnp.zeros((t, b), jnp.int32))
    s = window_stats(traj, zobrist_hash(traj.obs, zobrist_keys((4,))), slice(0, 1))
    assert s["data/games_ended"] == 0 and s["data/length/mean"] is None and s["data/seat2/outcome"] is None
    assert s["data/term/decisive"] == s["data/term/drawn"] == 0 and s["data/duplicate_rate"] == 0.5
