"""Fuzzing the jitted RingRift env with random legal and illegal ids (scripts/bench.py `fuzz`).

`fuzz(steps, ...)` plays the registry's envs (``ringrift_{board}_{players}p``: the rules self-play
uses) in batches under one jit per config: each step gives every game a uniformly random legal id
or, with probability ``illegal_share``, a uniformly random id in ``[-16, A + 16)`` (almost always
illegal: masked off or out of range), steps the batch with the env's jitted ``step`` and checks
every transition with `jaxzero.games.ringrift.invariants.step_violations` (the property tests'
invariants, and: an illegal id leaves the state unchanged). Finished games stay finished (and keep
receiving random ids) until the next reset, every ``reset_every`` steps. The steps are split evenly
over the configs; the result counts steps, legal and illegal ids, finished games and violations
(per invariant), with the time (compiles apart) and steps/s.
"""

from __future__ import annotations

import math
import time

import jax
import jax.numpy as jnp

from jaxzero.games.masks import uniform_legal
from jaxzero.games.registry import make_game
from jaxzero.games.ringrift.invariants import VIOLATIONS, action_is_legal, step_violations

WILD_MARGIN = 16  # random ids are drawn from [-16, A + 16): out-of-range ids on both sides


def make_fuzzer(game, batch: int, chunk: int, illegal_share: float = 0.5, reset_every: int = 8, step=None):
    """``(run, start)``: ``run(states, key, t)`` plays ``chunk`` checked steps from step number ``t``
    and returns ``(states, key, counts)``; ``start()`` is a batch of initial states. ``step``
    replaces ``game.step`` (``(state, action) -> state``; the tests plant a corrupting one)."""
    cfg, num_actions = game.cfg, game.num_actions
    step = step or (lambda s, a: game.step(s, a))
    step_v = jax.vmap(step)
    legal_v = jax.vmap(action_is_legal)
    init1 = game.init(jax.random.PRNGKey(0))

    def start():
        return jax.tree.map(lambda x: jnp.broadcast_to(x, (batch,) + x.shape), init1)

    def body(carry, t):
        states, key, counts = carry
        key, k_legal, k_coin, k_wild = jax.random.split(key, 4)
        legal_ids = uniform_legal(k_legal, states.legal_action_mask)
        wild = jax.random.randint(k_wild, (batch,), -WILD_MARGIN, num_actions + WILD_MARGIN, jnp.int32)
        acts = jnp.where(jax.random.uniform(k_coin, (batch,)) < illegal_share, wild, legal_ids)
        new = step_v(states, acts)
        bits = step_violations(cfg, states, acts, new)
        legal = legal_v(states, acts)
        over = new.terminated | new.truncated
        finished = over & ~(states.terminated | states.truncated)
        reset = over & (t % reset_every == reset_every - 1)
        new = jax.tree.map(lambda a, b: jnp.where(reset.reshape((batch,) + (1,) * (a.ndim - 1)), b, a), new, start())
        per_bit = jnp.stack([jnp.sum((bits >> k) & 1) for k in range(len(VIOLATIONS))]).astype(jnp.int32)
        counts = {
            "steps": counts["steps"] + batch,
            "legal": counts["legal"] + jnp.sum(legal, dtype=jnp.int32),
            "on_finished": counts["on_finished"] + jnp.sum(states.terminated | states.truncated, dtype=jnp.int32),
            "games_finished": counts["games_finished"] + jnp.sum(finished, dtype=jnp.int32),
            "violations": counts["violations"] + jnp.sum(bits != 0, dtype=jnp.int32),
            "per_invariant": counts["per_invariant"] + per_bit,
        }
        return (new, key, counts), None

    @jax.jit
    def run(states, key, t0):
        z = jnp.asarray(0, jnp.int32)
        counts = {"steps": z, "legal": z, "on_finished": z, "games_finished": z, "violations": z,
                  "per_invariant": jnp.zeros((len(VIOLATIONS),), jnp.int32)}
        (states, key, counts), _ = jax.lax.scan(body, (states, key, counts), t0 + jnp.arange(chunk, dtype=jnp.int32))
        return states, key, counts

    return run, start


def fuzz_game(game, steps: int, batch: int = 256, chunk: int = 32, illegal_share: float = 0.5,
              reset_every: int = 8, seed: int = 0, step=None) -> dict:
    """At least ``steps`` checked steps of one game (whole chunks); the counts, times and steps/s."""
    t0 = time.perf_counter()
    run, start = make_fuzzer(game, batch, chunk, illegal_share, reset_every, step)
    states, key = start(), jax.random.PRNGKey(seed)
    total = None
    calls = max(1, math.ceil(steps / (batch * chunk)))
    compile_s = run_s = 0.0
    for c in range(calls):
        t1 = time.perf_counter()
        states, key, counts = run(states, key, jnp.int32(c * chunk))
        counts = jax.device_get(counts)
        if c == 0:
            compile_s = time.perf_counter() - t0  # the first call compiles (and runs one chunk)
        else:
            run_s += time.perf_counter() - t1
        total = counts if total is None else jax.tree.map(lambda a, b: a + b, total, counts)
    timed_steps = int(total["steps"]) - batch * chunk if calls > 1 else int(total["steps"])
    per = {name: int(n) for name, n in zip(VIOLATIONS, total["per_invariant"])}
    return {
        "game": game.id, "steps": int(total["steps"]), "legal_ids": int(total["legal"]),
        "illegal_ids": int(total["steps"]) - int(total["legal"]), "steps_on_finished_games": int(total["on_finished"]),
        "games_finished": int(total["games_finished"]), "violations": int(total["violations"]),
        "violations_per_invariant": {k: v for k, v in per.items() if v},
        "compile_s": round(compile_s, 1), "seconds": round(compile_s + run_s, 1),
        "steps_per_s": round(timed_steps / run_s, 1) if run_s > 0 else None,
    }


def fuzz(steps: int = 10**6, boards=("square8", "hex8"), players=(2, 3, 4), batch: int = 256, chunk: int = 32,
         illegal_share: float = 0.5, reset_every: int = 8, seed: int = 0, log=None) -> dict:
    """``steps`` checked steps split evenly over the (board, players) configs; totals and per config."""
    configs = [(b, p) for b in boards for p in players]
    per_config = math.ceil(steps / len(configs))
    t0 = time.perf_counter()
    results = []
    for b, p in configs:
        r = fuzz_game(make_game(f"ringrift_{b}_{p}p"), per_config, batch, chunk, illegal_share, reset_every, seed)
        results.append(r)
        if log is not None:
            log(r)
    seconds = time.perf_counter() - t0
    run_s = sum(r["seconds"] - r["compile_s"] for r in results)
    timed = sum(r["steps_per_s"] * (r["seconds"] - r["compile_s"]) for r in results if r["steps_per_s"])
    return {
        "steps": sum(r["steps"] for r in results), "seconds": round(seconds, 1),
        "compile_s": round(sum(r["compile_s"] for r in results), 1),
        "steps_per_s": round(timed / run_s, 1) if run_s > 0 else None,
        "violations": sum(r["violations"] for r in results),
        "illegal_ids": sum(r["illegal_ids"] for r in results), "legal_ids": sum(r["legal_ids"] for r in results),
        "games_finished": sum(r["games_finished"] for r in results),
        "batch": batch, "chunk": chunk, "illegal_share": illegal_share, "reset_every": reset_every, "seed": seed,
        "configs": results,
    }
