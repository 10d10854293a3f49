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
import ml_collections
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


SPATIAL_HEAD = "spatial"  # built from the game's own ``policy_layout()`` gather table


def check_policy_head(name: str, game=None) -> None:
    """Raises ValueError unless ``name`` is a policy head that ``game`` (if given) can use."""
    if name != SPATIAL_HEAD and name not in POLICY_HEADS:
        raise ValueError(f"unknown policy head {name!r}; known: {sorted(POLICY_HEADS) + [SPATIAL_HEAD]}")
    if name == SPATIAL_HEAD and game is not None and getattr(game, "policy_layout", None) is None:
        raise ValueError(
            f"policy head 'spatial' needs a game with policy_layout(); {getattr(game, 'id', game)!r} has none "
            "(use net.policy_head = 'dense')"
        )


def policy_head_factory(name: str, game):
    """The policy-head factory called ``name`` for ``game``.

    ``"spatial"`` needs ``game.policy_layout() -> (gather_index [A], cell_channels, num_global)``
    (jaxzero.nn.spatial); the other names come from jaxzero.nn.heads.POLICY_HEADS.
    """
    check_policy_head(name, game)
    if name == SPATIAL_HEAD:
        from jaxzero.nn.spatial import spatial_policy_head_factory

        return spatial_policy_head_factory(*game.policy_layout())
    return POLICY_HEADS[name]


def _build_net(net_cfg, game, seed: int) -> AZNet:
    """The nnx network of ``net_cfg`` for ``game``, its params drawn from ``seed``."""
    return AZNet(
        game.observation_shape,
        game.num_actions,
        game.num_players,
        num_blocks=net_cfg.num_blocks,
        channels=net_cfg.channels,
        value_hidden=net_cfg.value_hidden,
        policy_head=policy_head_factory(net_cfg.policy_head, game),
        dtype=DTYPES[net_cfg.dtype],
        rngs=nnx.Rngs(seed),
    )


def _model_of(graphdef, game) -> Model:
    return Model(graphdef, tuple(game.observation_shape), game.num_actions, game.num_players)


def make_model(net_cfg, game, key_or_seed=0) -> tuple[Model, dict]:
    """Builds the network described by ``net_cfg`` for ``game``; returns (model, params as a plain dict)."""
    seed = key_or_seed if isinstance(key_or_seed, int) else int(jax.random.randint(key_or_seed, (), 0, 2**31 - 1))
    graphdef, state = nnx.split(_build_net(net_cfg, game, seed))
    return _model_of(graphdef, game), nnx.to_pure_dict(state)


def inference_dtype(name: str, backend: str | None = None) -> str:
    """The compute dtype that ``net.inference_dtype = name`` means on ``backend`` (default: JAX's):
    ``"auto"`` is bfloat16 on an accelerator (GPU/TPU) and float32 on CPU, where bfloat16 is emulated
    and slower; ``"float32"`` / ``"bfloat16"`` mean themselves."""
    if name == "auto":
        return "float32" if (backend or jax.default_backend()) == "cpu" else "bfloat16"
    if name not in DTYPES:
        raise ValueError(f"unknown inference dtype {name!r}; known: 'auto', {', '.join(map(repr, DTYPES))}")
    return name


def make_inference_model(net_cfg, game, backend: str | None = None) -> Model:
    """The network of ``net_cfg`` computing in its inference dtype (`inference_dtype` of
    ``net_cfg.inference_dtype``) for self-play, matches and serving. Its params are the training
    model's own (float32, same pytree): ``make_inference_model(cfg, game).apply(params, obs)`` with the
    params `make_model` made and training updated. Training keeps ``net_cfg.dtype``."""
    name = inference_dtype(net_cfg.get("inference_dtype", "auto"), backend)
    cfg = ml_collections.ConfigDict(net_cfg.to_dict())
    cfg.dtype = name
    # only the graph: nnx.eval_shape traces the constructor without allocating or initialising params
    graphdef, _ = nnx.split(nnx.eval_shape(lambda: _build_net(cfg, game, 0)))
    return _model_of(graphdef, game)
