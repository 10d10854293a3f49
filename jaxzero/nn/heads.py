"""Policy and value heads on top of a spatial trunk (features ``[B, H, W, C]``).

A policy head is built by a factory ``factory(channels, spatial_shape, num_actions, *, dtype, rngs)``
returning a module that maps trunk features to logits ``[B, num_actions]``; `POLICY_HEADS` names the
built-in ones so configs can pick a head by name (a later issue adds a spatial head for RingRift).
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
from flax import nnx

PolicyHeadFactory = Callable[..., nnx.Module]


class DensePolicyHead(nnx.Module):
    """1x1 conv to a few planes (relu), flatten, dense layer to one logit per action."""

    def __init__(self, channels, spatial_shape, num_actions, *, planes=2, dtype=jnp.float32, rngs):
        h, w = spatial_shape
        self.conv = nnx.Conv(channels, planes, (1, 1), dtype=dtype, rngs=rngs)
        self.out = nnx.Linear(h * w * planes, num_actions, dtype=dtype, rngs=rngs)

    def __call__(self, x):
        x = jax.nn.relu(self.conv(x))
        return self.out(x.reshape(x.shape[0], -1))


def dense_policy_head(channels, spatial_shape, num_actions, *, dtype=jnp.float32, rngs):
    """Factory for `DensePolicyHead` (the default head for pgx board games)."""
    return DensePolicyHead(channels, spatial_shape, num_actions, dtype=dtype, rngs=rngs)


POLICY_HEADS: dict[str, PolicyHeadFactory] = {"dense": dense_policy_head}


def register_policy_head(name: str, factory: PolicyHeadFactory) -> None:
    """Lets configs select ``factory`` with ``net.policy_head = name``."""
    POLICY_HEADS[name] = factory


class ValueHead(nnx.Module):
    """One value per seat in [-1, 1], ordered relative to the player to move (index 0 = mover)."""

    def __init__(self, channels, spatial_shape, num_players, *, planes=2, hidden=64, dtype=jnp.float32, rngs):
        h, w = spatial_shape
        self.conv = nnx.Conv(channels, planes, (1, 1), dtype=dtype, rngs=rngs)
        self.hidden = nnx.Linear(h * w * planes, hidden, dtype=dtype, rngs=rngs)
        self.out = nnx.Linear(hidden, num_players, dtype=dtype, rngs=rngs)

    def __call__(self, x):
        x = jax.nn.relu(self.conv(x))
        x = jax.nn.relu(self.hidden(x.reshape(x.shape[0], -1)))
        return jnp.tanh(self.out(x))
