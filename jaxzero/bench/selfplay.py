"""Search self-play throughput: games/s, positions/s and decisions/s of a config's self-play, and for
RingRift, in the same run, the engine's random-play steps/s at the same batch
(`jaxzero.bench.engine.bench_engine`) and the ratio of searched state-steps (decisions/s x
simulations: every simulation steps one state per game) to engine steps."""

from __future__ import annotations

import os
import platform
import time

import jax
import numpy as np

from jaxzero import config as config_lib
from jaxzero.bench.engine import bench_engine
from jaxzero.games.registry import make_game
from jaxzero.games.ringrift.env import RingRiftEnv
from jaxzero.nn import make_inference_model, make_model
from jaxzero.selfplay import SelfPlay, init_slots


def bench_selfplay(cfg, repeats: int = 3, engine_seconds: float = 10.0) -> dict:
    """Times ``repeats`` chunks of ``selfplay.chunk_steps`` moves of search self-play with a fresh
    network, after one call that compiles; then (RingRift, ``engine_seconds > 0``) the engine's
    random games at the same batch and rules for ``engine_seconds``."""
    load_before = os.getloadavg()
    game = make_game(cfg.game.name)
    config_lib.validate(cfg, game)
    _, params = make_model(cfg.net, game, cfg.seed)
    sp = cfg.selfplay
    # the loop's self-play computes in the inference dtype (bfloat16 on an accelerator)
    selfplay = SelfPlay.from_config(game, make_inference_model(cfg.net, game).apply, cfg)
    slots = init_slots(game, sp.batch_size, jax.random.key(cfg.seed))
    t0 = time.time()
    slots, traj = selfplay.play(params, slots, jax.random.key(1), num_steps=sp.chunk_steps)
    jax.block_until_ready(traj)
    compile_s = time.time() - t0
    games = positions = 0
    t0 = time.time()
    for r in range(repeats):
        slots, traj = selfplay.play(params, slots, jax.random.key(2 + r), num_steps=sp.chunk_steps)
        jax.block_until_ready(traj)
        games += int(np.asarray(traj.done).sum())
        positions += int(np.asarray(traj.valid).sum())
    seconds = time.time() - t0
    decisions_per_s = positions / seconds
    engine = {}
    if isinstance(game, RingRiftEnv) and engine_seconds > 0:
        e = bench_engine(game.cfg.board, game.num_players, sp.batch_size, engine_seconds,
                         auto_single=game.cfg.auto_single)
        searched = decisions_per_s * sp.num_simulations
        engine = {
            "engine_steps_per_s": round(e["decisions_per_s"], 1),
            "searched_state_steps_per_s": round(searched, 1),
            "searched_vs_engine": round(searched / e["decisions_per_s"], 4),
        }
    return {
        "game": cfg.game.name,
        "batch_size": sp.batch_size,
        "num_simulations": sp.num_simulations,
        "net": f"{cfg.net.num_blocks}x{cfg.net.channels}",
        "moves_timed": sp.chunk_steps * repeats,
        "seconds": round(seconds, 3),
        "compile_seconds": round(compile_s, 3),
        "games_per_s": round(games / seconds, 3),
        "games_per_hour": round(3600 * games / seconds, 1),
        "positions_per_s": round(positions / seconds, 1),
        "decisions_per_s": round(decisions_per_s, 2),  # searched moves (one search each)
        **engine,
        "search": sp.search,
        "compact": sp.compact,
        "device": str(jax.devices()[0].platform),
        "host": platform.node(),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }
