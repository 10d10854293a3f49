"""RingRift heuristic-vs-heuristic throughput (scripts/bench.py `heuristic`).

bench_heuristic(board, players, batch, seconds) plays `batch` games in parallel in which every
seat plays the one-ply greedy heuristic (jaxzero.games.ringrift.heuristic.greedy_action), finished
games restarting inside a lax.scan chunk, and reports games/s and decisions/s after compiling.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp

from jaxzero.games.ringrift.heuristic import greedy_action, weights_vector
from jaxzero.games.ringrift.presets import rules_config
from jaxzero.games.ringrift.rules import turn
from jaxzero.games.ringrift.state import RulesConfig


def make_heuristic_runner(cfg: RulesConfig, batch: int, chunk: int, weights=None, epsilon: float = 0.0):
    """A jitted fn (states, key) -> (states, key, games_finished) playing `chunk` decisions of
    heuristic-vs-heuristic games in every slot (finished games restart), and a `start()`."""
    w = weights_vector(weights)
    init1 = jax.jit(lambda: turn.init(cfg))()
    step_v = jax.vmap(lambda s, a: turn.step(cfg, s, a))
    act_v = jax.vmap(lambda s, k: greedy_action(cfg, s, k, w, epsilon))

    def body(carry, _):
        states, key, done = carry
        key, k1 = jax.random.split(key)
        states = step_v(states, act_v(states, jax.random.split(k1, batch)))
        fin = states.terminated | states.truncated
        states = jax.tree.map(
            lambda a, b: jnp.where(fin.reshape((batch,) + (1,) * (a.ndim - 1)), b, a),
            states,
            jax.tree.map(lambda x: jnp.broadcast_to(x, (batch,) + x.shape), init1),
        )
        return (states, key, done + jnp.sum(fin)), None

    @jax.jit
    def run(states, key):
        (states, key, done), _ = jax.lax.scan(body, (states, key, jnp.int32(0)), None, length=chunk)
        return states, key, done

    def start():
        return jax.tree.map(lambda x: jnp.broadcast_to(x, (batch,) + x.shape), init1)

    return run, start


def bench_heuristic(board: str = "square8", players: int = 2, batch: int = 256, seconds: float = 30.0,
                    chunk: int = 8, seed: int = 0, weights=None, epsilon: float = 0.0) -> dict:
    """Heuristic-vs-heuristic self-play for ~`seconds` after compiling: games/s and decisions/s."""
    cfg = rules_config(board, players)
    t0 = time.perf_counter()
    run, start = make_heuristic_runner(cfg, batch, chunk, weights, epsilon)
    states, key = start(), jax.random.PRNGKey(seed)
    states, key, done = run(states, key)
    jax.block_until_ready(done)
    compile_s = time.perf_counter() - t0
    games = steps = 0
    t1 = time.perf_counter()
    while time.perf_counter() - t1 < seconds:
        states, key, done = run(states, key)
        games += int(done)
        steps += batch * chunk
    el = time.perf_counter() - t1
    return {"board": board, "players": players, "batch": batch, "seconds": el, "compile_s": compile_s,
            "games": games, "games_per_s": games / el, "decisions_per_s": steps / el}
