"""Recovery (R110-R115): eligibility, legal slides (line mode vs fallback / stack-strike), applying
a slide, the overlength Option 1/2 choice and the buried-ring extraction.

Decisions (the reference's single `recovery A>B MODE ... ext K` move is split):
  1. the slide: RAY block entry (origin marker c, direction d, k = 1); the mode follows from the
     destination (line / fallback / stack_strike);
  2. if the slide formed an overlength line: `pend_rec_line`, LINE block restricted to that line
     (kind 0 at its start = Option 1, kind 1 at a segment start = Option 2, free);
  3. if a cost is due (Option 1, fallback, stack-strike) and some stack holds a buried ring of
     the seat: `pend_extract`, TARGET block over those stacks (bottom-most own ring removed).
     A stack-strike's candidates are those of the board before the strike (`rec_strike`,
     see extraction_mask): the struck stack stays a candidate when the strike exposed the
     seat's ring, which the extraction then removes.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxzero.games.ringrift.rules import lines, stacks
from jaxzero.games.ringrift.rules.movement import Tables


def eligible(state, tb: Tables, seat):
    """R110: controls no stack, owns a marker, has a buried ring."""
    controls = jnp.any(tb.top == seat)
    has_marker = jnp.any(state.marker == seat)
    buried = jnp.any(stacks.buried_of(state.rings, state.height, seat))
    return ~controls & has_marker & buried


def slides(cfg, state, tb: Tables, seat):
    """Legal recovery slides of `seat`: (mask bool [N, D], line_mode bool [N, D], strike bool [N, D]).

    mask is all False when the seat is not eligible.
    """
    g = tb.g
    b = g["board"]
    n = g["n"]
    dest = tb.rays[:, :, 0]  # [N, D], N = off board
    own_marker = (state.marker == seat)[:, None]
    marker_p = stacks.pad1(state.marker > 0, True)
    coll_p = stacks.pad1(state.collapsed > 0, True)
    stack_p = stacks.pad1(tb.stack, False)
    on = dest < n
    empty_dest = on & ~marker_p[dest] & ~coll_p[dest] & ~stack_p[dest]
    strike = on & own_marker & ~marker_p[dest] & ~coll_p[dest] & stack_p[dest]
    slide = own_marker & empty_dest
    length = lines.slide_lines(b, cfg, state.marker, seat)  # [N, D, A]
    forms = slide & jnp.any(length >= cfg.line_length, axis=-1)
    any_line = jnp.any(forms)
    ok = eligible(state, tb, seat)
    mask = jnp.where(any_line, forms, slide | strike) & ok
    return mask, forms & ok, strike & ~any_line & ok


def extraction_mask(state, seat):
    """bool [N]: the extraction candidates: stacks holding a buried ring of `seat`, as chosen
    with the slide (R113, the `extractionStacks` of the R115 move), i.e. before a stack-strike
    takes the struck stack's top ring. The struck stack (`rec_strike`) therefore still counts
    when a ring of `seat` is left in it, even if that ring is now its top ring (the reference
    and TS validate the stack before the strike and extract after it)."""
    buried = stacks.buried_of(state.rings, state.height, seat)
    struck = jnp.arange(state.height.shape[0]) == state.rec_strike
    return buried | (struck & jnp.any(state.rings == seat, axis=1))


def apply_slide(cfg, state, tb: Tables, c, d, seat):
    """Applies the recovery slide of the marker at c in direction d; sets the pending choices."""
    g = tb.g
    e = tb.rays[c, d, 0]
    is_strike = tb.stack[e]
    # fallback / line: move the marker; strike: remove it and the struck stack's top ring
    m = state.marker.astype(jnp.int32).at[c].set(0)
    m = jnp.where(is_strike, m, m.at[e].set(seat))
    state = state.replace(marker=m.astype(state.marker.dtype), acted=jnp.asarray(True),
                          turn_recovery=jnp.asarray(True))
    struck = stacks.remove_top_at(state, e, seat, 1).replace(rec_strike=e.astype(jnp.int32))
    state = jax_tree_where(is_strike, struck, state)
    # line through the destination (only meaningful for a non-strike slide)
    start, length = local_runs(g, stacks.pad1(m == seat, False), e)
    forms = (length >= cfg.line_length) & ~is_strike
    axis = jnp.argmax(forms)
    any_line = jnp.any(forms)
    ln = length[axis]
    cells = segment(g, axis, start[axis], ln)
    exact = any_line & (ln == cfg.line_length)
    over = any_line & (ln > cfg.line_length)
    state = jax_tree_where(exact, collapse_cells(state, cells, seat), state)
    cost_due = ~over  # exact line (Option 1), fallback and stack-strike cost one extraction
    can_pay = jnp.any(extraction_mask(state, seat))
    return state.replace(
        pend_rec_line=over,
        rec_line=jnp.where(over, cells, False),
        rec_axis=jnp.where(over, axis, -1).astype(jnp.int32),
        pend_extract=cost_due & can_pay,
    )


def _along(g, cell, axis, kk):
    """int32 [K+1]: cell, then the cells 1..K steps along +axis (sentinel N off board)."""
    d = jnp.asarray(g["line_axes"])[axis]
    return jnp.concatenate([jnp.asarray(cell, jnp.int32)[None], jnp.asarray(g["rays_p"])[cell, d]])


def local_runs(g, own_p, cell):
    """(start [A], length [A]): the run of `own` cells through `cell` (counted as own) on every
    line axis, from the K cells on both sides only (own_p: bool [N+1], sentinel False)."""
    rays = jnp.asarray(g["rays_p"])
    axes = jnp.asarray(g["line_axes"])
    opp = jnp.asarray(g["opposite"])[axes]
    fwd_cells = rays[cell, axes]  # [A, K]
    bwd_cells = rays[cell, opp]
    f = jnp.sum(jnp.cumprod(own_p[fwd_cells].astype(jnp.int32), axis=1), axis=1)
    b = jnp.sum(jnp.cumprod(own_p[bwd_cells].astype(jnp.int32), axis=1), axis=1)
    start = jnp.where(b > 0, jnp.take_along_axis(bwd_cells, jnp.maximum(b - 1, 0)[:, None], axis=1)[:, 0], cell)
    return start.astype(jnp.int32), (1 + f + b).astype(jnp.int32)


def segment(g, axis, start, length):
    """bool [N]: `length` cells from `start` along +axis."""
    kk = g["k"]
    cells = _along(g, start, axis, kk)
    offs = jnp.arange(kk + 1)
    return jnp.any((cells[:, None] == jnp.arange(g["n"])[None, :]) & (offs < length)[:, None], axis=0)


def collapse_cells(state, cells, seat):
    """Collapses the marker cells `cells` to `seat` territory."""
    return state.replace(
        marker=jnp.where(cells, 0, state.marker).astype(state.marker.dtype),
        collapsed=jnp.where(cells, seat, state.collapsed).astype(state.collapsed.dtype),
        terr=state.terr.at[seat - 1].add(jnp.sum(cells).astype(jnp.int32)),
    )


def rec_line_mask(cfg, state):
    """bool [A, N, 2]: the Option 1 / Option 2 entries of the pending recovery line."""
    g = stacks.geometry(cfg.board)
    b = g["board"]
    na = len(b.line_axes)
    n = g["n"]
    t = lines._tables(b)
    back1 = jnp.asarray(t.back)[:, :, 1]  # [A, N]
    line = state.rec_line
    line_p = stacks.pad1(line, False)
    ax_ok = (jnp.arange(na) == state.rec_axis)[:, None]
    start = line[None, :] & ~line_p[back1] & ax_ok
    along = jnp.asarray(t.along)  # [A, N, K+1]
    offs = jnp.arange(along.shape[-1])
    in_line = line_p[along]  # [A, N, K+1]
    seg_ok = jnp.all(jnp.where(offs < cfg.line_length, in_line, True), axis=-1) & ax_ok
    del n
    return jnp.stack([start, seg_ok], axis=-1) & state.pend_rec_line


def apply_rec_line(cfg, state, axis, cell, kind, seat):
    """Resolves the pending recovery line: kind 0 collapses it all (cost due), kind 1 the L cells."""
    seg = segment(stacks.geometry(cfg.board), axis, cell, cfg.line_length)
    cells = jnp.where(kind == 0, state.rec_line, seg)
    state = collapse_cells(state, cells, seat)
    can_pay = jnp.any(extraction_mask(state, seat))
    return state.replace(
        pend_rec_line=jnp.asarray(False),
        rec_line=jnp.zeros_like(state.rec_line),
        rec_axis=jnp.asarray(-1, jnp.int32),
        pend_extract=(kind == 0) & can_pay,
    )


def jax_tree_where(pred, a, b):
    """Elementwise select between two pytrees of identical structure."""
    return jax.tree_util.tree_map(lambda x, y: jnp.where(pred, x, y), a, b)
