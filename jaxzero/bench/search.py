"""Search benchmark: max^n vs mctx Gumbel search on the same game, network and positions.

* `random_positions` -- a batch of non-terminal positions reached by random play.
* `bench_search` -- times the ``"mctx"`` and ``"maxn"`` searches of `jaxzero.search.make_search` on
  the same game, network, positions, simulations and batch, and reports the ratio.

`scripts/bench.py search` is the command line. Knows nothing about any particular game (works with
any `jaxzero.games.protocol.Game`).
"""

from __future__ import annotations

import time

import chex
import jax
import jax.numpy as jnp
import numpy as np

from jaxzero.games.masks import uniform_legal
from jaxzero.search import SearchBudget, make_search


def random_positions(game, key, batch: int, max_moves: int):
    """``batch`` non-terminal positions after a uniform number in ``[0, max_moves)`` of random legal moves
    (a move that would end the game is not made). Jittable with static ``batch``, ``max_moves``;
    ``states.legal_action_mask`` is ``[batch, A]``."""
    k_init, k_len, k_play = jax.random.split(key, 3)
    states = jax.vmap(game.init)(jax.random.split(k_init, batch))
    length = jax.random.randint(k_len, (batch,), 0, max_moves)

    def body(i, carry):
        states, key = carry
        key, k_act, k_step = jax.random.split(key, 3)
        action = uniform_legal(k_act, states.legal_action_mask)
        nxt = jax.vmap(game.step)(states, action, jax.random.split(k_step, batch))
        keep = nxt.terminated | nxt.truncated | (i >= length)

        def pick(old, new):
            return jnp.where(keep.reshape(keep.shape + (1,) * (old.ndim - 1)), old, new)

        return jax.tree.map(pick, states, nxt), key

    states, _ = jax.lax.fori_loop(0, max_moves, body, (states, k_play))
    chex.assert_shape(states.legal_action_mask, (batch, game.num_actions))
    return states


def bench_search(
    game,
    apply_fn,
    params,
    states,
    *,
    num_simulations: int = 32,
    max_num_considered_actions: int = 16,
    max_depth=None,
    repeats: int = 5,
    seed: int = 0,
) -> dict:
    """Wall time of mctx vs max^n Gumbel search on the same game, network, batch of ``states``.

    ``apply_fn(params, obs) -> (logits [B, A], mover-relative values [B, P])``; mctx uses
    ``values[:, 0]`` in the 2-player convention (only meaningful for 2-player games, which is what
    the comparison is for), max^n the whole vector. Compiles both first (not timed), then times
    ``repeats`` calls of each, alternating, with fresh keys; reports medians in seconds, their
    ratio ``maxn_s / mctx_s`` (also the ratio of host CPU seconds, steadier on a shared CPU) and
    the agreement of the chosen actions (1.0 expected for a 2-player zero-sum game).
    """
    chex.assert_rank(states.legal_action_mask, 2)
    budget = SearchBudget(num_simulations, max_num_considered_actions)
    searches = {k: jax.jit(make_search(k, game, apply_fn, budget, max_depth=max_depth)) for k in ("mctx", "maxn")}
    key = jax.random.PRNGKey(seed)
    a = jax.block_until_ready(searches["mctx"](params, states, key))
    b = jax.block_until_ready(searches["maxn"](params, states, key))
    agree = float(jnp.mean(a.action == b.action))
    times = {"mctx": [], "maxn": []}
    cpu = {"mctx": [], "maxn": []}
    for i in range(repeats):
        k = jax.random.fold_in(key, i + 1)
        for name, fn in searches.items():
            t0, c0 = time.perf_counter(), time.process_time()
            jax.block_until_ready(fn(params, states, k).action_weights)
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    mctx_s = float(np.median(times["mctx"]))
    maxn_s = float(np.median(times["maxn"]))
    return {
        "batch": int(states.legal_action_mask.shape[0]),
        "num_simulations": num_simulations,
        "mctx_s": mctx_s,
        "maxn_s": maxn_s,
        "ratio": maxn_s / mctx_s,
        # host CPU seconds (all threads): steadier than wall time on a shared CPU; meaningless on GPU
        "cpu_ratio": float(np.median(cpu["maxn"]) / np.median(cpu["mctx"])),
        "action_agreement": agree,
        "device": str(jax.devices()[0]),
    }
