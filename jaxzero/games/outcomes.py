"""Game outcomes as value targets: rank outcomes of final seat returns, and seat rotation to the mover.

Seats are absolute (``[..., P]``, component ``s`` is seat ``s``'s) unless rotated by `rotate_to_mover`,
whose result is mover-relative (index 0 = the seat to move), the convention of every network value in
jaxzero. Knows nothing of networks, search or the training loop.
"""

from __future__ import annotations

import chex
import jax.numpy as jnp


def rank_outcome(returns):
    """Outcome per seat from final seat returns ``[..., P]``: winner +1, last -1, linear between, ties averaged.

    For two players this is +1 / -1 for a win / loss and 0 for a draw.
    """
    p = returns.shape[-1]
    if p == 1:
        return jnp.sign(returns)
    ri = returns[..., :, None]
    rj = returns[..., None, :]
    better = jnp.sum(rj > ri, axis=-1)
    tied = jnp.sum(rj == ri, axis=-1) - 1
    return 1.0 - 2.0 * (better + 0.5 * tied) / (p - 1)


def rotate_to_mover(seat_values, mover):
    """``out[..., k] = seat_values[..., (mover + k) % P]``: index 0 becomes the mover's value.

    ``seat_values [..., P]`` over absolute seats, ``mover [...]`` int. The inverse is
    `jaxzero.search.vector_model.to_absolute`.
    """
    chex.assert_shape(mover, seat_values.shape[:-1])
    p = seat_values.shape[-1]
    idx = (mover[..., None] + jnp.arange(p)) % p
    return jnp.take_along_axis(seat_values, idx, axis=-1)
