"""bfloat16 inference (``net.inference_dtype``): on an accelerator self-play, matches and serving
compute in bfloat16 with the float32 params training keeps; the move a net picks must not change.

The positions are real: every decision point of the first reference games of square8 and hex8
(JAXZERO_SHARED traces), observed by jaxzero's engine; the move is the argmax of the legal logits.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from jaxzero import config as config_lib
from jaxzero.bench.precision import argmax_agreement, trace_positions
from jaxzero.games.registry import make_game
from jaxzero.nn import inference_dtype, make_inference_model, make_model


def test_auto_is_float32_on_cpu_and_bfloat16_on_accelerators():
    assert inference_dtype("auto", "cpu") == "float32"
    assert inference_dtype("auto", "gpu") == inference_dtype("auto", "tpu") == "bfloat16"
    assert inference_dtype("float32", "gpu") == "float32"
    with pytest.raises(ValueError, match="unknown inference dtype 'float16'"):
        inference_dtype("float16")
    cfg = config_lib.default_config()
    cfg.net.inference_dtype = "half"
    with pytest.raises(ValueError, match="config.net.inference_dtype must be"):
        config_lib.validate(cfg)


# hex8 is extended (CI budget, 2026-12-07: 35 s of the fast tier on the loaded dev VM); square8 keeps the check in CI
@pytest.mark.parametrize("name,game_name", [("square8_2p", "ringrift_square8_2p"),
                                            pytest.param("hex8_2p", "ringrift_hex8_2p", marks=pytest.mark.extended)])
def test_bfloat16_picks_the_float32_move_on_99_percent_of_positions(traces_dir, name, game_name):
    game = make_game(game_name)
    net = ml_collections.ConfigDict(dict(num_blocks=2, channels=32, value_hidden=32, policy_head="spatial",
                                         dtype="float32", inference_dtype="bfloat16"))
    model, params = make_model(net, game, 0)
    obs, legal = trace_positions(traces_dir / f"{name}.jsonl.gz", games=12)
    assert len(obs) > 800
    result = argmax_agreement(net, game, params, obs, legal)
    assert result["argmax_agreement"] >= 0.99, result
    assert result["value_max_abs_diff"] < 0.05, result
    # the two really compute differently (else the agreement above would say nothing)
    bf16 = make_inference_model(net, game)
    assert not np.array_equal(jax.jit(model.apply)(params, obs[:8])[0], jax.jit(bf16.apply)(params, obs[:8])[0])
