"""A network as a pure function of plain-dict params: ``model.apply(params, obs)``.

Search, self-play, training and checkpoints all pass params as a nested dict of arrays
(``nnx.to_pure_dict``), so optax states and orbax checkpoints have a stable, plain structure.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import chex
import jax
import jax.numpy as jnp
from flax import nnx

from jaxzero.nn.heads import POLICY_HEADS
from jaxzero.nn.resnet import AZNet

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


@dataclasses.dataclass(frozen=True)
class Model:
    """Graph definition of an NNX network plus its static shape facts."""

    graphdef: Any
    observation_shape: tuple[int, ...]
    num_actions: int
    num_players: int

    def apply(self, params, obs):
        """Policy logits ``[B, A]`` and mover-relative seat values ``[B, P]`` for observations ``[B, *obs]``."""
        chex.assert_shape(obs, (None, *self.observation_shape))
        logits, values = nnx.merge(self.graphdef, params)(obs)
        chex.assert_shape(logits, (obs.shape[0], self.num_actions))
        chex.assert_shape(values, (obs.shape[0], self.num_players))
        return logits, values

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other


def make_model(net_cfg, game, key_or_seed=0) -> tuple[Model, dict]:
    """Builds the network described by ``net_cfg`` for ``game``; returns (model, params as a plain dict)."""
    if net_cfg.policy_head not in POLICY_HEADS:
        raise ValueError(f"unknown policy head {net_cfg.policy_head!r}; known: {sorted(POLICY_HEADS)}")
    seed = key_or_seed if isinstance(key_or_seed, int) else int(jax.random.randint(key_or_seed, (), 0, 2**31 - 1))
    net = AZNet(
        game.observation_shape,
        game.num_actions,
        game.num_players,
        num_blocks=net_cfg.num_blocks,
        channels=net_cfg.channels,
        value_hidden=net_cfg.value_hidden,
        policy_head=POLICY_HEADS[net_cfg.policy_head],
        dtype=DTYPES[net_cfg.dtype],
        rngs=nnx.Rngs(seed),
    )
    graphdef, state = nnx.split(net)
    model = Model(graphdef, tuple(game.observation_shape), game.num_actions, game.num_players)
    return model, nnx.to_pure_dict(state)
