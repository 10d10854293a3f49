"""Self-play data quality: Zobrist hashes of positions on device, and per-window statistics.

`zobrist_hash(obs, keys)` hashes the mover's observation (any game: it works on the observation
arrays of the game protocol, so it sees what the net sees; a position and its transposition with
the same view hash alike). Each observation element ``i`` with a non-zero value ``x`` contributes
``K1[i] ^ (bits(x) * K2[i])`` to an XOR over elements, for both 32-bit words of a 64-bit hash (two
independent uint32 key tables: 64-bit keys as two uint32 words). For 0/1 planes this is the classic
Zobrist hash ``XOR_{i: x_i = 1} K[i]``. Keys are fixed by a seed (`zobrist_keys`), so hashes are
comparable across iterations and runs.

`window_stats` summarises one self-play window on the host: duplicate-position rate (share of
positions whose hash already occurred earlier in the window; warn above 10%), game-length
distribution (mean / max / percentiles of games that ended in the window), termination (decisive,
drawn, truncated) and per-seat mean outcome (balance between seats).
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np

from jaxzero.games.outcomes import rank_outcome

DUPLICATE_WARNING = 0.10  # RingRift's plan: warn when more than 10% of positions are duplicates


def zobrist_keys(observation_shape, seed: int = 0x5EED) -> jax.Array:
    """Fixed random keys uint32 [2, 2, prod(observation_shape)]: (word, table K1/K2, element)."""
    n = int(np.prod(observation_shape))
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, 2**32, size=(2, 2, n), dtype=np.uint64).astype(np.uint32)
    keys[:, 1] |= 1  # odd multipliers
    return jnp.asarray(keys)


@jax.jit
def zobrist_hash(obs: jax.Array, keys: jax.Array) -> jax.Array:
    """64-bit hashes as uint32 [..., 2] of observations ``obs [..., *observation_shape]``."""
    n = keys.shape[-1]
    lead = obs.shape[: obs.ndim - _obs_rank(obs, n)]
    flat = obs.reshape(lead + (n,))
    bits = jax.lax.bitcast_convert_type(flat.astype(jnp.float32), jnp.uint32)
    nonzero = flat != 0

    def word(k):
        contrib = jnp.where(nonzero, k[0] ^ (bits * k[1]), jnp.uint32(0))
        return jax.lax.reduce(contrib, jnp.uint32(0), jax.lax.bitwise_xor, (contrib.ndim - 1,))

    out = jnp.stack([word(keys[0]), word(keys[1])], axis=-1)
    chex.assert_shape(out, lead + (2,))
    return out


def _obs_rank(obs, n):
    """How many trailing axes of ``obs`` make one observation of ``n`` elements."""
    size = 1
    for r in range(1, obs.ndim + 1):
        size *= obs.shape[obs.ndim - r]
        if size == n:
            return r
    raise ValueError(f"observation batch {obs.shape} has no trailing block of {n} elements")


def hashes_to_u64(h) -> np.ndarray:
    """uint32 [..., 2] -> uint64 [...] on the host."""
    h = np.asarray(h).astype(np.uint64)
    return (h[..., 0] << np.uint64(32)) | h[..., 1]


def window_stats(traj, hashes, slots: slice) -> dict:
    """Data-quality metrics of one self-play window (game slots ``slots``); see the module docstring."""
    valid = np.asarray(traj.valid[:, slots])
    h = hashes_to_u64(np.asarray(hashes)[:, slots])[valid]
    n = int(h.size)
    unique = int(np.unique(h).size) if n else 0
    done = np.asarray(traj.done[:, slots]) & valid
    truncated = np.asarray(traj.truncated[:, slots]) & done
    finished = done & ~truncated
    lengths = (np.asarray(traj.moves[:, slots]) + 1)[done]
    returns = np.asarray(traj.returns[:, slots])[finished]  # [G, P] final seat returns of decided games
    p = np.asarray(traj.returns).shape[-1]
    out = {
        "data/positions_hashed": n,
        "data/duplicate_rate": (1.0 - unique / n) if n else 0.0,
        "data/games_ended": int(done.sum()),
        "data/term/truncated": int(truncated.sum()),
    }
    # every key is always present; statistics of no games are None
    has = lengths.size > 0
    out.update({
        "data/length/mean": float(lengths.mean()) if has else None,
        "data/length/max": int(lengths.max()) if has else None,
        "data/length/min": int(lengths.min()) if has else None,
        "data/length/p50": float(np.percentile(lengths, 50)) if has else None,
        "data/length/p90": float(np.percentile(lengths, 90)) if has else None,
    })
    g = returns.shape[0] if returns.ndim == 2 else 0
    outcome = np.asarray(rank_outcome(jnp.asarray(returns))) if g else None  # [G, P], winner +1, last -1
    drawn = np.all(returns == returns[:, :1], axis=1) if g else np.zeros((0,), bool)
    out["data/term/decisive"] = int((~drawn).sum())
    out["data/term/drawn"] = int(drawn.sum())
    for s in range(p):
        out[f"data/seat{s}/outcome"] = float(outcome[:, s].mean()) if g else None
        out[f"data/seat{s}/win_rate"] = float((outcome[:, s] == 1.0).mean()) if g else None
    return out
