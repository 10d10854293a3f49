"""AZNet: shapes, mover-relative seat values, no BatchNorm, pluggable policy head, bf16 compute."""

import jax
import jax.numpy as jnp
import ml_collections
import pytest
from flax import nnx

from jaxzero.games.registry import make_game
from jaxzero.nn import AZNet, POLICY_HEADS, make_model, register_policy_head
from jaxzero.nn.heads import DensePolicyHead


def net_cfg(**kw):
    c = ml_collections.ConfigDict(dict(num_blocks=2, channels=8, value_hidden=16, policy_head="dense", dtype="float32"))
    c.update(kw)
    return c


@pytest.mark.parametrize("name", ["tic_tac_toe", "connect_four"])
def test_shapes_and_value_range(name):
    game = make_game(name)
    model, params = make_model(net_cfg(), game)
    obs = jax.random.uniform(jax.random.key(0), (5, *game.observation_shape))
    logits, values = jax.jit(model.apply)(params, obs)
    assert logits.shape == (5, game.num_actions) and logits.dtype == jnp.float32
    assert values.shape == (5, 2)
    assert bool(jnp.all(jnp.abs(values) <= 1.0))
    assert float(jnp.std(values)) > 0.0  # not collapsed to a constant


@pytest.mark.parametrize("players", [2, 3, 4])
def test_value_vector_has_one_entry_per_seat(players):
    net = AZNet((5, 5, 3), 10, players, num_blocks=1, channels=8, rngs=nnx.Rngs(0))
    logits, values = net(jnp.ones((2, 5, 5, 3)))
    assert logits.shape == (2, 10) and values.shape == (2, players)


def test_no_batchnorm():
    net = AZNet((3, 3, 2), 9, 2, num_blocks=2, channels=8, rngs=nnx.Rngs(0))
    kinds = {type(m).__name__ for _, m in nnx.iter_graph(net) if isinstance(m, nnx.Module)}
    assert "BatchNorm" not in kinds and "LayerNorm" in kinds


def test_bfloat16_compute_returns_float32():
    game = make_game("connect_four")
    model, params = make_model(net_cfg(dtype="bfloat16"), game)
    f32, p32 = make_model(net_cfg(), game)
    obs = jnp.ones((3, *game.observation_shape))
    logits, values = model.apply(params, obs)
    assert logits.dtype == jnp.float32 and values.dtype == jnp.float32
    l32, _ = f32.apply(p32, obs)
    assert float(jnp.max(jnp.abs(logits - l32))) < 0.1  # same params (same seed), bf16 rounding only


def test_policy_head_is_pluggable(monkeypatch):
    calls = []

    def my_head(channels, spatial_shape, num_actions, *, dtype, rngs):
        calls.append((channels, spatial_shape, num_actions))
        return DensePolicyHead(channels, spatial_shape, num_actions, planes=4, dtype=dtype, rngs=rngs)

    monkeypatch.setitem(POLICY_HEADS, "mine", my_head)
    game = make_game("tic_tac_toe")
    model, params = make_model(net_cfg(policy_head="mine"), game)
    assert calls == [(8, (3, 3), 9)]
    assert params["policy_head"]["conv"]["kernel"].shape == (1, 1, 8, 4)
    with pytest.raises(ValueError, match="unknown policy head"):
        make_model(net_cfg(policy_head="nope"), game)
    register_policy_head("mine2", my_head)
    assert "mine2" in POLICY_HEADS
    POLICY_HEADS.pop("mine2")
