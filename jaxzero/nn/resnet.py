"""AlphaZero-style residual network (flax NNX), without BatchNorm.

``AZNet(obs) -> (policy_logits [B, A], values [B, P])``: values are one outcome per seat in [-1, 1],
ordered relative to the player to move (index 0 = the mover), so one net serves 2, 3 and 4 players.
Computation runs in ``dtype`` (bfloat16 for accelerator inference, float32 on CPU); parameters and
outputs are float32.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from jaxzero.nn.heads import ValueHead, dense_policy_head


class ResBlock(nnx.Module):
    """conv-LN-relu-conv-LN + skip, relu."""

    def __init__(self, channels, *, dtype, rngs):
        self.conv1 = nnx.Conv(channels, channels, (3, 3), dtype=dtype, rngs=rngs)
        self.norm1 = nnx.LayerNorm(channels, dtype=dtype, rngs=rngs)
        self.conv2 = nnx.Conv(channels, channels, (3, 3), dtype=dtype, rngs=rngs)
        self.norm2 = nnx.LayerNorm(channels, dtype=dtype, rngs=rngs)

    def __call__(self, x):
        y = jax.nn.relu(self.norm1(self.conv1(x)))
        y = self.norm2(self.conv2(y))
        return jax.nn.relu(x + y)


class AZNet(nnx.Module):
    """ResNet trunk + pluggable policy head + per-seat value head."""

    def __init__(
        self,
        observation_shape,
        num_actions,
        num_players,
        *,
        num_blocks=4,
        channels=32,
        value_hidden=64,
        policy_head=dense_policy_head,
        dtype=jnp.float32,
        rngs: nnx.Rngs,
    ):
        if len(observation_shape) != 3:
            raise ValueError(f"AZNet expects (H, W, C) observations, got shape {tuple(observation_shape)}")
        h, w, c = observation_shape
        self.observation_shape = tuple(observation_shape)
        self.num_actions = num_actions
        self.num_players = num_players
        self.dtype = dtype
        self.stem = nnx.Conv(c, channels, (3, 3), dtype=dtype, rngs=rngs)
        self.stem_norm = nnx.LayerNorm(channels, dtype=dtype, rngs=rngs)
        # Named attributes (not a list) so the param dict has string keys only (clean checkpoints).
        self.num_blocks = num_blocks
        for i in range(num_blocks):
            setattr(self, f"block{i}", ResBlock(channels, dtype=dtype, rngs=rngs))
        # the heads compute in float32 whatever the trunk's dtype, so a trained net's near-equal moves
        # keep their float32 order: with a bfloat16 trunk, bfloat16 heads changed the argmax of 1.25%
        # of a trained square8 net's positions, float32 heads 0.20% (BENCHMARKS.md)
        self.policy_head = policy_head(channels, (h, w), num_actions, dtype=jnp.float32, rngs=rngs)
        self.value_head = ValueHead(channels, (h, w), num_players, hidden=value_hidden, dtype=jnp.float32, rngs=rngs)

    def __call__(self, obs):
        x = obs.astype(self.dtype)
        x = jax.nn.relu(self.stem_norm(self.stem(x)))
        for i in range(self.num_blocks):
            x = getattr(self, f"block{i}")(x)
        x = x.astype(jnp.float32)
        logits = self.policy_head(x)
        values = self.value_head(x)
        return logits, values
