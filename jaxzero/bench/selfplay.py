"""Search self-play throughput: games/s, positions/s and decisions/s of a config's self-play."""

from __future__ import annotations

import platform
import time

import jax
import numpy as np

from jaxzero import config as config_lib
from jaxzero.games.registry import make_game
from jaxzero.nn import make_model
from jaxzero.selfplay import SelfPlay, init_slots


def bench_selfplay(cfg, repeats: int = 3) -> dict:
    """Times ``repeats`` chunks of ``selfplay.chunk_steps`` moves of search self-play with a fresh
    network, after one call that compiles."""
    game = make_game(cfg.game.name)
    config_lib.validate(cfg, game)
    model, params = make_model(cfg.net, game, cfg.seed)
    sp = cfg.selfplay
    selfplay = SelfPlay.from_config(game, model.apply, cfg)
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
        "decisions_per_s": round(positions / seconds, 2),  # searched moves (one search each)
        "search": sp.search,
        "device": str(jax.devices()[0].platform),
        "host": platform.node(),
    }
