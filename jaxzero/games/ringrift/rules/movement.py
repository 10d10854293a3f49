"""Non-capture movement (R090-R092), overtaking captures and chains (R093, R101-R103).

Everything is derived in closed form from the free-run tables of RULES.md §2.3, computed once
per call:
  F[c, d]  number of cells from c along d that hold no stack and are not collapsed,
  t[c, d]  the first blocking cell (sentinel N when the ray ends at the edge),
  has_t    that blocker is a stack (a potential capture target),
  G[c, d]  the free run beyond the target in the same direction.
A (c, d, k) triple (k = landing distance) is a move iff no stack lies on the path (k <= F) and
a capture iff exactly the target lies on it (F + 1 < k <= F + 1 + G).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxzero.games.ringrift.rules import stacks


class Light:
    """Stack summaries without the ray tables (what the move appliers need)."""

    def __init__(self, cfg, state):
        g = stacks.geometry(cfg.board)
        self.g = g
        self.rays = jnp.asarray(g["rays_p"])
        self.height = state.height.astype(jnp.int32)
        self.top, self.cap = stacks.top_and_cap(state.rings, state.height)
        self.stack = self.height > 0
        self.coll = state.collapsed > 0


def ray_free(tb, c, d):
    """Free run F[c, d] of one ray (number of stack-free, non-collapsed cells from c along d)."""
    ray = tb.rays[c, d]
    blocked_p = stacks.pad1(tb.stack | tb.coll, True)
    return jnp.sum(jnp.cumprod((~blocked_p[ray]).astype(jnp.int32)))


def _grid_consts(g):
    """Static grid data: flat grid index of every cell, validity, per-direction (drow, dcol)."""
    if "grid" not in g:
        b = g["board"]
        rows, cols = b.grid_shape
        dirs = [(int(d[1]), int(d[0])) for d in b.directions]  # grid row = y, col = x on both boards
        # check the embedding: one step along d moves by (drow, dcol) in the grid
        gi = b.grid_index
        for c in range(b.num_cells):
            for j, (dr, dc) in enumerate(dirs):
                nb = b.rays[c, j, 0]
                if nb >= 0:
                    assert gi[nb] == gi[c] + dr * cols + dc, "grid embedding is not translation-invariant"
        g["grid"] = dict(rows=rows, cols=cols, index=np.asarray(gi), valid=np.asarray(b.grid_valid), dirs=dirs)
    return g["grid"]


def _to_grid(gc, x, fill):
    flat = jnp.full((gc["rows"] * gc["cols"],), fill, x.dtype).at[jnp.asarray(gc["index"])].set(x)
    return flat.reshape(gc["rows"], gc["cols"])


def _free_run_grid(g, stack, coll, cap):
    """F, has_t, cap_t, G ([N, D] each) by static shifts of padded grids (no per-ray gathers)."""
    gc = _grid_consts(g)
    kk = g["k"]
    R, C = gc["rows"], gc["cols"]
    free = _to_grid(gc, ~(stack | coll), False)
    stk = _to_grid(gc, stack, False)
    capg = _to_grid(gc, cap, 0)

    def pad(x, v):
        return jnp.pad(x, kk, constant_values=v)

    def shift(xp, dr, dc, k):
        r0, c0 = kk + dr * k, kk + dc * k
        return jax.lax.dynamic_slice(xp, (r0, c0), (R, C)) if False else xp[r0:r0 + R, c0:c0 + C]

    freep, stkp, capp = pad(free, False), pad(stk, False), pad(capg, 0)
    outs = []
    for dr, dc in gc["dirs"]:
        run = jnp.ones((R, C), bool)
        F = jnp.zeros((R, C), jnp.int32)
        for k in range(1, kk + 1):
            run = run & shift(freep, dr, dc, k)
            F = F + run
        Fp = pad(F, 0)
        run = jnp.ones((R, C), bool)
        has_t = jnp.zeros((R, C), bool)
        cap_t = jnp.zeros((R, C), jnp.int32)
        Gd = jnp.zeros((R, C), jnp.int32)
        for k in range(1, kk + 1):
            fk = shift(freep, dr, dc, k)
            first = run & ~fk
            run = run & fk
            sk = first & shift(stkp, dr, dc, k)
            has_t = has_t | sk
            cap_t = cap_t + jnp.where(sk, shift(capp, dr, dc, k), 0)
            Gd = Gd + jnp.where(sk, shift(Fp, dr, dc, k), 0)
        outs.append(jnp.stack([F, has_t.astype(jnp.int32), jnp.where(has_t, cap_t, 99), Gd]))
    allg = jnp.stack(outs, axis=1).reshape(4, len(gc["dirs"]), R * C)  # [4, D, R*C]
    cells = allg[:, :, jnp.asarray(gc["index"])]  # [4, D, N]
    cells = jnp.transpose(cells, (0, 2, 1))  # [4, N, D]
    return cells[0], cells[1] > 0, cells[2], cells[3]


class Tables:
    """Free-run tables of one board position (plain container of jnp arrays)."""

    def __init__(self, cfg, state):
        g = stacks.geometry(cfg.board)
        n, nd, kk = g["n"], g["d"], g["k"]
        rays = jnp.asarray(g["rays_p"])
        self.g = g
        self.rays = rays
        height = state.height.astype(jnp.int32)
        top, cap = stacks.top_and_cap(state.rings, state.height)
        self.top, self.cap, self.height = top, cap, height
        stack = height > 0
        coll = state.collapsed > 0
        self.stack, self.coll = stack, coll
        F, has_t, cap_t, G = _free_run_grid(g, stack, coll, cap)
        self.F, self.has_t, self.cap_t = F, has_t, cap_t
        self.G = jnp.where(has_t, G, 0)
        self.kr = jnp.arange(1, kk + 1)
        # per-cell summaries (seat independent: each stack judged for its own controller)
        self.cap_ok = self.has_t & (self.G >= 1)  # a capturable landing exists beyond the first stack
        self.any_move_cell = jnp.any(F >= height[:, None], axis=1) & stack
        self.any_cap_cell = jnp.any(self._cap_alive(height, cap), axis=1) & stack
        # no-dead-placement summaries (placement.py): new stacks of 1..3 own rings on an empty
        # cell, one more ring on an own stack (cap + 1) / on a foreign stack (cap 1)
        self.place_empty = jnp.stack([self.alive(jnp.full_like(height, n), jnp.full_like(height, n)) for n in (1, 2, 3)], axis=1)
        self.place_own = self.alive(height + 1, cap + 1)
        self.place_foreign = self.alive(height + 1, jnp.ones_like(cap))
        # materialize once: keeps XLA from re-fusing (duplicating) the table computation into
        # every consumer mask
        names = ("F", "has_t", "cap_t", "G", "top", "cap", "cap_ok", "any_move_cell", "any_cap_cell",
                 "place_empty", "place_own", "place_foreign")
        vals = jax.lax.optimization_barrier(tuple(getattr(self, k) for k in names))
        for k, v in zip(names, vals):
            setattr(self, k, v)

    def _cap_alive(self, h, cap):
        """bool [N, D]: a stack of height h / cap `cap` (per cell) at c has a capture along d."""
        return self.cap_ok & (self.cap_t <= cap[:, None]) & (self.F + 1 + self.G >= h[:, None])

    def alive(self, h, cap):
        """bool [N]: a (hypothetical) stack of height h / cap `cap` at c has a move or a capture."""
        return jnp.any(self.F >= h[:, None], axis=1) | jnp.any(self._cap_alive(h, cap), axis=1)

    # ---- masks for one seat (1-based) ----
    def move_mask(self, seat):
        """bool [N, D, K]: legal non-capture moves of `seat` from every controlled stack."""
        own = (self.top == seat)[:, None, None]
        k = self.kr[None, None, :]
        return own & (k >= self.height[:, None, None]) & (k <= self.F[..., None])

    def capture_mask(self, seat, cap_override=None, height_override=None):
        """bool [N, D, K]: legal capture segments of `seat` from every controlled stack."""
        cap = self.cap if cap_override is None else cap_override
        h = self.height if height_override is None else height_override
        own = (self.top == seat)[:, None, None]
        ok = self.has_t & (self.cap_t <= cap[:, None])
        k = self.kr[None, None, :]
        F = self.F[..., None]
        return own & ok[..., None] & (k > F + 1) & (k <= F + 1 + self.G[..., None]) & (k >= h[:, None, None])

    def any_capture_from(self, c, seat):
        """Whether `seat` controls the stack at c and has a capture from it."""
        return (self.top[c] == seat) & self.any_cap_cell[c]

    def any_move_per_cell(self):
        """bool [N]: the stack at c (any controller) has a non-capture move."""
        return self.any_move_cell

    def any_capture_per_cell(self):
        """bool [N]: the stack at c (any controller) has a capture."""
        return self.any_cap_cell

    def a2_move_per_cell(self):
        """bool [N]: the reference's permissive helper (A2): a ray ending on a stack counts as a move."""
        h = self.height[:, None]
        ok = (self.F >= h) | ((self.F == h - 1) & self.has_t)
        return jnp.any(ok, axis=1) & self.stack


def apply_ray(cfg, state, tb: Tables, c, d, k, seat):
    """Applies the move or capture segment (c, d, k) of `seat` (R092, R102).

    Returns (state, landing cell, is_capture). Markers on the path flip / collapse, the departure
    cell gets a `seat` marker, a capture moves the target's top ring under the attacker, and
    landing on a marker removes it and eliminates the attacker's top ring (credited to `seat`).
    """
    g = tb.g
    n, kk = g["n"], g["k"]
    ray = tb.rays[c, d]  # [K]
    F = ray_free(tb, c, d)
    is_cap = k > F + 1
    land = ray[k - 1]
    tgt = ray[jnp.minimum(F, kk - 1)]
    j = jnp.arange(kk)
    inter = (j < k - 1) & ~(is_cap & (j == F))
    cells = jnp.arange(n)
    inter_cells = jnp.any((ray[:, None] == cells[None, :]) & inter[:, None], axis=0)  # [N]
    m = state.marker.astype(jnp.int32)
    own = inter_cells & (m == seat)
    opp = inter_cells & (m > 0) & (m != seat)
    collapsed = jnp.where(own, seat, state.collapsed.astype(jnp.int32))
    m = jnp.where(own, 0, jnp.where(opp, seat, m))
    m = m.at[c].set(seat)
    landed_on_marker = m[land] > 0
    m = m.at[land].set(0)
    state = state.replace(
        marker=m.astype(state.marker.dtype),
        collapsed=collapsed.astype(state.collapsed.dtype),
        terr=state.terr.at[seat - 1].add(jnp.sum(own).astype(jnp.int32)),
    )
    # the moving stack
    row = state.rings[c].astype(jnp.int32)
    h = state.height[c].astype(jnp.int32)
    # capture: take the target's top ring
    trow = state.rings[tgt].astype(jnp.int32)
    th = state.height[tgt].astype(jnp.int32)
    captured = trow[jnp.maximum(th - 1, 0)]
    crow, ch = stacks.row_insert_bottom(row, h, captured)
    row = jnp.where(is_cap, crow, row)
    h = jnp.where(is_cap, ch, h)
    trow2, th2 = stacks.row_remove_top(trow, th, 1)
    state = state.replace(
        rings=state.rings.at[tgt].set(jnp.where(is_cap, trow2, trow).astype(state.rings.dtype)),
        height=state.height.at[tgt].set(jnp.where(is_cap, th2, th).astype(state.height.dtype)),
    )
    # lift from c, put at land
    state = stacks.set_row(state, c, jnp.zeros_like(row), 0)
    row2, h2 = stacks.row_remove_top(row, h, 1)
    row = jnp.where(landed_on_marker, row2, row)
    state = stacks.set_row(state, land, row, jnp.where(landed_on_marker, h2, h))
    state = stacks.credit(state, seat, landed_on_marker.astype(jnp.int32))
    return state, land, is_cap
