"""RingRift line and territory micro-benchmark: CPU microseconds per state of the rules'
line/territory functions, vmapped over random-ish boards (`random_states`).
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxzero.games.ringrift.boards import get_board
from jaxzero.games.ringrift.rules import lines, territory
from jaxzero.games.ringrift.state import RulesConfig, State, empty_state


def random_states(cfg: RulesConfig, batch: int, seed: int = 0) -> State:
    """`batch` random-ish mid-game boards (markers, collapsed cells and stacks of random
    colours and heights at random densities) for benchmarks; not reachable positions."""
    b = get_board(cfg.board)
    n, h, p = b.num_cells, b.max_height, cfg.num_players
    rng = np.random.default_rng(seed)
    dens = rng.uniform(0.1, 0.35, (batch, 3, 1))
    u = rng.random((batch, n))
    kind = np.where(u < dens[:, 0], 1, np.where(u < dens[:, 0] + dens[:, 1], 2, np.where(u < dens[:, :3].sum(1), 3, 0)))
    owner = rng.integers(1, p + 1, (batch, n)).astype(np.int8)
    height = np.where(kind == 3, rng.integers(1, 5, (batch, n)), 0).astype(np.int8)
    rings = np.where(np.arange(h)[None, None, :] < height[:, :, None], rng.integers(1, p + 1, (batch, n, h)), 0)
    base = empty_state(cfg)
    fields = {k: np.broadcast_to(np.asarray(v), (batch,) + np.shape(v)) for k, v in base.items()}
    fields.update(
        marker=np.where(kind == 1, owner, 0).astype(np.int8),
        collapsed=np.where(kind == 2, owner, 0).astype(np.int8),
        height=height,
        rings=rings.astype(np.int8),
        cur=rng.integers(0, p, batch).astype(np.int32),
    )
    return base.replace(**{k: jnp.asarray(v) for k, v in fields.items()})


def bench_rules(board: str = "square8", players: int = 2, batch: int = 1024, reps: int = 20) -> dict:
    """CPU microseconds per state of the line/territory functions, vmapped over `batch`
    random-ish states (`random_states`); process time, so it is robust to a shared machine."""
    cfg = RulesConfig(board, players)
    b = get_board(board)
    st = random_states(cfg, batch)
    fns = {
        "find_regions": lambda s: territory.find_regions(b, s),
        "region_choices": lambda s: territory.region_choices(b, cfg, s, s.cur + 1),
        "apply_region": lambda s: territory.apply_region(b, cfg, s, 4, jnp.argmax(s.collapsed == 0)),
        "find_lines": lambda s: lines.find_lines(b, cfg, s.marker, s.cur + 1),
        "line_choices": lambda s: lines.line_choices(b, cfg, s, s.cur + 1),
        "apply_line": lambda s: lines.apply_line(b, cfg, s, 0, 0, 0),
        "slide_lines": lambda s: lines.slide_lines(b, cfg, s.marker, s.cur + 1),
    }
    out = {}
    for name, f in fns.items():
        jf = jax.jit(jax.vmap(f))
        jax.block_until_ready(jf(st))
        t = time.process_time()
        for _ in range(reps):
            r = jf(st)
        jax.block_until_ready(r)
        out[name] = (time.process_time() - t) / reps / batch * 1e6
    return out
