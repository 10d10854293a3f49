"""Spatial policy head: per-cell convolutional logits gathered into a game's action layout.

The game supplies a static gather table (`index [A]` into the concatenation of the
flattened per-cell logits `[H * W * cell_channels]` and `num_global` pooled logits),
so every action reads exactly one logit: a (cell, channel) output of a 1x1 conv for
actions tied to a cell, or a logit computed from mean-pooled features for the few
global actions (skips, swap). No global-pool-then-dense layer over the whole board.
This module knows nothing about any particular game.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx


class SpatialPolicyHead(nnx.Module):
    """Maps trunk features [B, H, W, C] to logits [B, A] through a static gather table."""

    def __init__(
        self,
        channels: int,
        spatial_shape,
        num_actions: int,
        *,
        gather_index,
        cell_channels: int,
        num_global: int,
        hidden: int | None = None,
        dtype=jnp.float32,
        rngs: nnx.Rngs,
    ):
        index = np.asarray(gather_index, np.int32)
        h, w = spatial_shape
        if index.shape != (num_actions,):
            raise ValueError(f"gather_index has shape {index.shape}, expected ({num_actions},)")
        if index.min() < 0 or index.max() >= h * w * cell_channels + num_global:
            raise ValueError("gather_index points outside the per-cell and global logits")
        self.spatial_shape = (h, w)
        self.cell_channels = cell_channels
        self.num_global = num_global
        self.num_actions = num_actions
        self._index = nnx.static(tuple(int(i) for i in index))  # static constant, never a parameter
        hidden = hidden or channels
        self.conv = nnx.Conv(channels, hidden, (1, 1), dtype=dtype, rngs=rngs)
        self.cell_out = nnx.Conv(hidden, cell_channels, (1, 1), dtype=dtype, rngs=rngs)
        self.global_out = nnx.Linear(hidden, num_global, dtype=dtype, rngs=rngs)

    def __call__(self, x):
        chex.assert_rank(x, 4)
        b = x.shape[0]
        y = jax.nn.relu(self.conv(x))
        cell = self.cell_out(y).reshape(b, -1)
        glob = self.global_out(jnp.mean(y, axis=(1, 2)))
        logits = jnp.concatenate([cell, glob], axis=-1)
        out = jnp.take(logits, jnp.asarray(self._index, jnp.int32), axis=1)
        chex.assert_shape(out, (b, self.num_actions))
        return out


def spatial_policy_head_factory(gather_index, cell_channels: int, num_global: int):
    """A policy-head factory (see jaxzero.nn.heads) bound to one game's gather table."""

    def factory(channels, spatial_shape, num_actions, *, dtype=jnp.float32, rngs):
        return SpatialPolicyHead(
            channels,
            spatial_shape,
            num_actions,
            gather_index=gather_index,
            cell_channels=cell_channels,
            num_global=num_global,
            dtype=dtype,
            rngs=rngs,
        )

    return factory
