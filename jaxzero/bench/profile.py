"""Where one search self-play decision spends its time (scripts/bench.py `profile`).

`profile_search(cfg)` times, on the same batch of positions (`jaxzero.bench.search.random_positions`),
jitted pieces of what a search does per decision:

* ``net``: the network alone on the positions' observations (one evaluation of the batch);
* ``rules``: one move of every game (``vmap(game.step)`` of a uniformly random legal move, which
  also computes the new legal mask) and ``vmap(game.observe)`` of the result; ``step`` and
  ``observe`` time the two halves alone;
* ``pack``: packing the legal mask into the compact search's K slots (`legal_slots`);
* ``search`` (and ``search_full``, over all action ids): the whole search at the config's budget.

A search of ``S`` simulations evaluates the net ``S + 1`` times (root + one leaf per simulation),
steps and observes ``S`` times and (compact) packs ``S + 1`` times; what is left of the search's
time is search bookkeeping (mctx's selection, expansion and backup over the tree arrays). The
network's two floors per search come from XLA's cost analysis of the jitted net (FLOPs and bytes
accessed per call) over the device's peak FLOP rate and memory bandwidth (given, not measured).
"""

from __future__ import annotations

import os
import time

import jax
import numpy as np

from jaxzero.bench.search import random_positions
from jaxzero.games.masks import legal_slots, uniform_legal
from jaxzero.games.registry import make_game
from jaxzero.nn import make_model
from jaxzero.search import SearchBudget, make_search, max_legal_actions


def _median_seconds(fn, args, repeats: int) -> float:
    jax.block_until_ready(fn(*args))  # compile
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _cost(fn, *args) -> dict:
    analysis = jax.jit(fn).lower(*args).compile().cost_analysis()
    if isinstance(analysis, (list, tuple)):  # older jax: one dict per computation
        analysis = analysis[0]
    return {"flops": float(analysis.get("flops", 0.0)), "bytes": float(analysis.get("bytes accessed", 0.0))}


def profile_search(
    cfg,
    *,
    batch: int | None = None,
    repeats: int = 5,
    max_moves: int = 40,
    peak_gflops: float = 320.0,
    bandwidth_gbs: float = 20.0,
    full: bool = True,
    seed: int = 0,
) -> dict:
    """Splits one search decision of ``cfg``'s self-play (game, net, ``selfplay`` budget and search
    kind) into network, rules, packing and search bookkeeping; seconds are medians of ``repeats``
    calls after compiling. ``full`` also times the search over all action ids. ``peak_gflops`` /
    ``bandwidth_gbs``: the device's peak float32 rate and memory bandwidth for the net's floors
    (defaults: a 2-core AVX-512 CPU, ~2 x 2.5 GHz x 64 FLOP/cycle, and ~20 GB/s)."""
    game = make_game(cfg.game.name)
    model, params = make_model(cfg.net, game, cfg.seed)
    sp = cfg.selfplay
    b = batch or sp.batch_size
    sims = sp.num_simulations
    k = max_legal_actions(game)
    key = jax.random.PRNGKey(seed)
    states = jax.jit(lambda kk: random_positions(game, kk, b, max_moves))(key)
    obs = jax.jit(jax.vmap(game.observe))(states)

    def net(p, o):
        return model.apply(p, o)

    def rules(s, kk):
        k_act, k_step = jax.random.split(kk)
        nxt = jax.vmap(game.step)(s, uniform_legal(k_act, s.legal_action_mask), jax.random.split(k_step, b))
        return nxt.legal_action_mask, jax.vmap(game.observe)(nxt)

    def step(s, kk):
        k_act, k_step = jax.random.split(kk)
        return jax.vmap(game.step)(s, uniform_legal(k_act, s.legal_action_mask), jax.random.split(k_step, b))

    def pack(mask):
        return legal_slots(mask, k)

    t = {
        "net": _median_seconds(jax.jit(net), (params, obs), repeats),
        "rules": _median_seconds(jax.jit(rules), (states, key), repeats),
        "step": _median_seconds(jax.jit(step), (states, key), repeats),
        "observe": _median_seconds(jax.jit(jax.vmap(game.observe)), (states,), repeats),
        "pack": _median_seconds(jax.jit(pack), (states.legal_action_mask,), repeats),
    }
    compacted = sp.compact and k < game.num_actions  # what `search_slots` decides
    searches = {"search": compacted}
    if full and compacted:
        searches["search_full"] = False
    for name, compact in searches.items():
        budget = SearchBudget(sims, sp.max_num_considered_actions, sp.gumbel_scale, compact)
        t[name] = _median_seconds(jax.jit(make_search(sp.search, game, model.apply, budget)), (params, states, key),
                                  repeats)
    cost = _cost(net, params, obs)
    n_params = int(sum(np.size(x) for x in jax.tree.leaves(params)))

    def split(search_s, compact):
        parts = {
            "net_s": (sims + 1) * t["net"],
            "rules_s": sims * t["rules"],
            "pack_s": (sims + 1) * t["pack"] if compact else 0.0,
        }
        parts["bookkeeping_s"] = search_s - sum(parts.values())
        shares = {n.replace("_s", "_share"): round(v / search_s, 3) for n, v in parts.items()}
        return {"search_s": round(search_s, 4), **{n: round(v, 4) for n, v in parts.items()}, **shares,
                "decisions_per_s": round(b / search_s, 2)}

    out = {
        "game": cfg.game.name,
        "batch": b,
        "num_simulations": sims,
        "considered": sp.max_num_considered_actions,
        "search": sp.search,
        "net": f"{cfg.net.num_blocks}x{cfg.net.channels}",
        "net_params": n_params,
        "num_actions": game.num_actions,
        "max_legal_actions": k,
        "piece_s": {n: round(v, 5) for n, v in t.items() if not n.startswith("search")},
        # the net's floors per search: (S + 1) evaluations of the batch at the peak rate / bandwidth
        "net_flops_per_call": cost["flops"],
        "net_bytes_per_call": cost["bytes"],
        "net_flop_floor_s": round((sims + 1) * cost["flops"] / (peak_gflops * 1e9), 6),
        "net_bandwidth_floor_s": round((sims + 1) * cost["bytes"] / (bandwidth_gbs * 1e9), 6),
        "peak_gflops": peak_gflops,
        "bandwidth_gbs": bandwidth_gbs,
        "compact" if compacted else "full_ids": split(t["search"], compacted),
    }
    if "search_full" in t:
        out["full_ids"] = split(t["search_full"], False)
    out["device"] = str(jax.devices()[0])
    out["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    return out
