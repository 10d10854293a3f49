"""RingRift engine throughput: batched uniformly random games (scripts/bench.py `engine`).

bench_engine(board, players, batch, seconds) plays `batch` random games in parallel under vmap
(the jitted step + legal mask, auto-reset of finished games inside a lax.scan chunk) for about
`seconds` of wall time after compilation, and reports complete games/s, decisions/s and the
compile time.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp

from jaxzero.games.masks import uniform_legal
from jaxzero.games.ringrift.presets import rules_config
from jaxzero.games.ringrift.rules import turn
from jaxzero.games.ringrift.state import RulesConfig


def make_runner(cfg: RulesConfig, batch: int, chunk: int):
    """A jitted fn (states, key) -> (states, key, games_finished, decisions, longest) over `chunk` steps."""
    init1 = jax.jit(lambda: turn.init(cfg))()
    step_v = jax.vmap(lambda s, a: turn.step(cfg, s, a))

    def pick(key, mask):
        # uniform over the legal ids: one uniform per game, the k-th legal id found in two
        # levels (a Gumbel draw per action, or one long cumsum, would cost more than the step)
        return uniform_legal(key, mask)

    def body(carry, _):
        states, key, done, dec, longest = carry
        key, k1 = jax.random.split(key)
        acts = pick(k1, states.legal_action_mask)
        states = step_v(states, acts)
        fin = states.terminated | states.truncated
        longest = jnp.maximum(longest, jnp.max(jnp.where(fin, states.move_count, 0)))
        fresh = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (batch,) + x.shape), init1)
        states = jax.tree_util.tree_map(
            lambda a, b: jnp.where(fin.reshape((batch,) + (1,) * (a.ndim - 1)), b, a), states, fresh
        )
        return (states, key, done + jnp.sum(fin), dec + batch, longest), None

    @jax.jit
    def run(states, key):
        z = jnp.asarray(0, jnp.int32)
        (states, key, done, dec, longest), _ = jax.lax.scan(body, (states, key, z, z, z), None, length=chunk)
        return states, key, done, dec, longest

    def start():
        return jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (batch,) + x.shape), init1)

    return run, start


def bench_engine(board: str = "square8", players: int = 2, batch: int = 256, seconds: float = 20.0,
                 chunk: int = 32, auto_single: bool = False, seed: int = 0) -> dict:
    """Plays random games for ~`seconds`; returns games/s, decisions/s, compile_s and counts."""
    cfg = rules_config(board, players, auto_single=auto_single)
    t0 = time.perf_counter()
    run, start = make_runner(cfg, batch, chunk)
    states = start()
    key = jax.random.PRNGKey(seed)
    states, key, done, dec, longest = run(states, key)
    jax.block_until_ready(done)
    compile_s = time.perf_counter() - t0
    games = 0
    decisions = 0
    longest_all = int(longest)
    t1 = time.perf_counter()
    while time.perf_counter() - t1 < seconds:
        states, key, done, dec, longest = run(states, key)
        games += int(done)
        decisions += int(dec)
        longest_all = max(longest_all, int(longest))
    el = time.perf_counter() - t1
    return {
        "board": board,
        "players": players,
        "batch": batch,
        "seconds": el,
        "compile_s": compile_s,
        "games": games,
        "games_per_s": games / el,
        "decisions_per_s": decisions / el,
        "longest_game_moves": longest_all,
    }

