"""The one-command accelerator check (scripts/bench.py `gpu`): RingRift square8 2p throughput at
accelerator batch sizes, in one JSON.

* search self-play decisions/s (64 simulations, 16 considered, 6x64 net, batch 1024), with the
  compact search (`jaxzero.search.common.compact_model`) on and off;
* the engine's random-play steps/s at batch 4096 (`jaxzero.bench.engine.bench_engine`);
* heuristic self-play games/s at batch 1024 (`jaxzero.bench.heuristic.bench_heuristic`).

The most informative parts run first, and the accumulated result is written after every part
(``out``), so a run stopped by a time limit still reports what it measured. ``small=True`` uses
tiny batches, budgets and net: a smoke test that runs on a CPU.
"""

from __future__ import annotations

import json
import os
import time

import jax

from jaxzero.bench.engine import bench_engine
from jaxzero.bench.heuristic import bench_heuristic
from jaxzero.bench.selfplay import bench_selfplay
from jaxzero.config import ringrift_config

# (engine batch, engine seconds, heuristic batch, heuristic seconds, self-play batch, simulations,
#  considered, net blocks x channels, self-play moves timed)
FULL = dict(engine_batch=4096, engine_s=10.0, heuristic_batch=1024, heuristic_s=10.0, selfplay_batch=1024,
            simulations=64, considered=16, blocks=6, channels=64, moves=4)
SMALL = dict(engine_batch=8, engine_s=1.0, heuristic_batch=4, heuristic_s=1.0, selfplay_batch=4,
             simulations=4, considered=4, blocks=1, channels=8, moves=2)


def selfplay_config(sizes: dict, compact: bool):
    """The square8 2p search self-play config of the check: ``sizes`` (`FULL` / `SMALL`), compact or not."""
    cfg = ringrift_config("square8", 2)
    sp = cfg.selfplay
    sp.batch_size = sizes["selfplay_batch"]
    sp.chunk_steps = sp.num_steps = sizes["moves"]
    sp.num_simulations, sp.max_num_considered_actions = sizes["simulations"], sizes["considered"]
    sp.holdout_slots = 1
    sp.compact = compact
    cfg.net.num_blocks, cfg.net.channels = sizes["blocks"], sizes["channels"]
    return cfg


def gpu_check(small: bool = False, out: str | None = None) -> dict:
    """Runs the check (see the module docstring); returns the JSON-able result and, with ``out``,
    rewrites that file with the result so far after every part."""
    sizes = SMALL if small else FULL
    result = {"benchmark": "gpu", "small": small, "sizes": sizes, "device": str(jax.devices()[0]),
              "platform": jax.devices()[0].platform, "loadavg_before": [round(x, 2) for x in os.getloadavg()]}
    t_start = time.time()

    def record(name, value):
        result[name] = value
        result["wall_s"] = round(time.time() - t_start, 1)
        if out:
            with open(out, "w") as f:
                json.dump(result, f, indent=1)

    for compact in (True, False):
        r = bench_selfplay(selfplay_config(sizes, compact), repeats=1, engine_seconds=0)
        record("selfplay_compact" if compact else "selfplay_full_ids", r)
    record("compact_speedup", round(result["selfplay_compact"]["decisions_per_s"]
                                    / result["selfplay_full_ids"]["decisions_per_s"], 3))
    e = bench_engine("square8", 2, sizes["engine_batch"], sizes["engine_s"], auto_single=True)
    record("engine", e)
    searched = result["selfplay_compact"]["decisions_per_s"] * sizes["simulations"]
    record("searched_vs_engine", round(searched / e["decisions_per_s"], 4))
    record("heuristic", bench_heuristic("square8", 2, sizes["heuristic_batch"], sizes["heuristic_s"]))
    record("loadavg_after", [round(x, 2) for x in os.getloadavg()])
    return result
