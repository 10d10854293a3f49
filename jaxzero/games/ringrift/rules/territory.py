"""Territory regions (RULES.md §1.9, R140-R145) as fixed-shape array functions.

Pure functions of one game (no batch axis), jit- and vmap-safe, board-agnostic (the board
enters only through static numpy tables: `terr_nbrs`, `fill_nbrs`, `move_nbrs`, the grid
embedding).

What the reference traces (RingRift's Python engine, canonical `find_disconnected_regions`
path) do, verified on every territory step of the 450 public traces
(tests/ringrift/test_territory.py). Note: the stored (older/newer) versions of the Python
`BoardManager` read "active = stack controllers, no regions with <= 1 active seat" and
"a single outside stack must have height >= 2"; the traces contradict all three, so the
rules below follow the traces:
- active = seats owning at least one ring in any stack, buried rings included (TS
  semantics). No regions when no stack exists. There is no "fewer than two active seats"
  shortcut: with one active seat, stack-free regions are candidates.
- pass p = 0..3 (only if a marker of seat p+1 is on the board): connected components,
  under territory adjacency, of the cells that are neither collapsed nor a seat-(p+1)
  marker; candidate iff the number of distinct controllers of stacks inside < |active|.
- pass 4: components of the non-collapsed cells (markers inside); candidate iff exactly one
  seat controls a stack inside (and that is < |active|).
- A region is identified by (pass, rep), rep = its lowest cell id (= the reference's
  first cell in its scan order). The same cell set found in several passes is offered once,
  at the lowest pass.
- Processable by seat s: normal context: s controls at least one stack outside the region
  (any height); recovery context (`state.turn_recovery`): some stack outside the region
  holds a ring of s below its top.
- Processing (apply_region): all rings of stacks inside are eliminated and credited to s,
  every region cell becomes s-collapsed (markers inside vanish); border markers = markers
  (any colour) territory-adjacent to the region, grown through markers of any colour along
  `board.fill_nbrs` (8 (x, y) offsets, including two distance-2 cells on hex8) without
  entering the region, become s-collapsed too; terr[s-1] += region cells + border markers.
  A self-elimination is then due (`pend_terr`, `terr_region` = the region cells only, as the
  trace's `tp`); it is never waived in practice (the prerequisite guarantees a target).

Cost: everything is elementwise int8 work on a flat grid embedding (constant-offset shifts)
plus one small scatter; components by min-label propagation in a `lax.while_loop`.
`region_summary` is seat-independent: compute it once per board and pass `summary=` to
`region_choices` / `has_region` / `apply_region` (jaxzero/bench/rules.py measures cpu-us/state
of every function).
"""

from __future__ import annotations

from typing import NamedTuple

import chex
import jax
import jax.numpy as jnp

from jaxzero.games.ringrift.boards import Board
from jaxzero.games.ringrift.rules.grid import flat_grid, from_grid, pad_sentinel, shift, to_grid
from jaxzero.games.ringrift.state import RulesConfig, State

NUM_PASSES = 5  # border colours of seats 1..4, then collapsed-only (actions.NUM_REGION_PASSES)


def _nbr_any(x, offs):
    out = None
    for k in offs:
        y = shift(x, k, False)
        out = y if out is None else out | y
    return out


def _grow(x, allowed, offs):
    """Closure of bool grid `x` under neighbour steps (`offs`) inside `allowed`."""

    def cond(c):
        return c[1]

    def body(c):
        cur, _ = c
        new = cur | (allowed & _nbr_any(cur, offs))
        return new, jnp.any(new != cur)

    out, _ = jax.lax.while_loop(cond, body, (x, jnp.asarray(True)))
    return out


def _labels(board: Board, open_):
    """int32 [..., N]: lowest cell id of each open cell's component (N for closed cells).

    Min-label propagation on the flat grid embedding with constant-offset shifts inside a
    `lax.while_loop` (elementwise int8 work only, one hop per round; stops when nothing
    changes). Much cheaper on CPU than gathers, pointer jumping or N x N reachability.
    """
    n = board.num_cells
    g = flat_grid(board)
    dt = jnp.int8 if n < 127 else jnp.int32
    big = jnp.asarray(n, dt)
    og = to_grid(board, open_, False)
    lab0 = jnp.where(og, jnp.asarray(g.cell_of_grid).astype(dt), big)

    def cond(c):
        return c[1]

    def body(c):
        lab, _ = c
        m = lab
        for k in g.terr_offs:
            m = jnp.minimum(m, shift(lab, k, big))
        m = jnp.where(og, m, big)
        return m, jnp.any(m != lab)

    lab, _ = jax.lax.while_loop(cond, body, (lab0, jnp.asarray(True)))
    return from_grid(board, lab).astype(jnp.int32)


_NBITS = 9


def _segment_or(board: Board, lab, bits):
    """int32 [..., N]: at index r, the OR of `bits` (ints in [0, 2**_NBITS)) over the cells labelled
    r (0 where no cell is); one scatter-max of the bits' one-hot form."""
    n = board.num_cells
    lead = lab.shape[:-1]
    lab2 = lab.reshape((-1, n))
    onehot = ((bits.reshape((-1, n))[..., None] >> jnp.arange(_NBITS)) & 1).astype(jnp.int8)
    rows = jnp.arange(lab2.shape[0])[:, None]
    acc = jnp.zeros((lab2.shape[0], n + 1, _NBITS), jnp.int8).at[rows, lab2].max(onehot)
    packed = jnp.sum(acc.astype(jnp.int32) << jnp.arange(_NBITS), axis=-1)[:, :n]
    return packed.reshape(lead + (n,))


def components(board: Board, open_, bits=None):
    """Connected components of the `open_` cells under territory adjacency.

    open_: bool [..., N] (any leading shape, e.g. one row per pass); bits: optional int [..., N]
    per-cell flags in [0, 2**_NBITS) to OR over each component.
    Returns (label int32 [..., N]: lowest cell id of the cell's component, N for closed cells;
    ored int32 [..., N]: OR of `bits` over the cell's component, 0 for closed cells).
    """
    n = board.num_cells
    chex.assert_axis_dimension(open_, -1, n)
    lab = _labels(board, open_)
    if bits is None:
        return lab, jnp.zeros(open_.shape, jnp.int32)
    at_rep = _segment_or(board, lab, jnp.where(open_, bits, 0).astype(jnp.int32))
    ored = jnp.take_along_axis(pad_sentinel(at_rep, 0), lab, axis=-1)
    return lab, ored


def _stack_info(state: State):
    """(top int32 [N] controller or 0, height int32 [N])."""
    h = state.height.astype(jnp.int32)
    top = jnp.take_along_axis(state.rings, jnp.clip(h - 1, 0)[:, None], axis=1)[:, 0]
    return jnp.where(h > 0, top, 0).astype(jnp.int32), h


def _buried(state: State, seat):
    """bool [N]: the stack holds a ring of `seat` below its top ring."""
    h = state.height.astype(jnp.int32)
    below_top = jnp.arange(state.rings.shape[1])[None, :] < (h - 1)[:, None]
    return jnp.any((state.rings.astype(jnp.int32) == seat) & below_top, axis=1)


_BURIED_BIT = 4  # bits 0..3: seat 1..4 controls a stack inside; bits 4..7: a stack inside holds a buried ring of seat 1..4
_TOUCH_BIT = 8  # the component touches a marker of its pass' border colour


class RegionSummary(NamedTuple):
    """Seat-independent territory analysis of one board (`region_summary`).

    It depends only on rings/height/marker/collapsed, so it can be computed once per board
    and reused for every seat and phase flag on that board (e.g. across bookkeeping moves).
    """

    comp: jax.Array  # int32 [5, N] representative of each cell's candidate region, else -1
    labels: jax.Array  # int32 [5, N] component representative of every cell of a live pass, else -1
    candidate: jax.Array  # bool [5, N] candidate regions at (pass, rep)
    ored: jax.Array  # int32 [5, N] component-wide OR of the flag bits, at the rep cells
    is_rep: jax.Array  # bool [5, N]


def region_summary(board: Board, state: State) -> RegionSummary:
    """Components and candidate regions of all five passes plus the per-region flags that
    `region_choices` needs for any seat (see the module docstring)."""
    chex.assert_shape(state.marker, (board.num_cells,))
    n = board.num_cells
    p = state.hand.shape[0]
    top, h = _stack_info(state)
    m = state.marker.astype(jnp.int32)
    notcol = state.collapsed == 0
    # passes actually run: marker colours 1..P, then collapsed-only (static count P + 1)
    colour = jnp.asarray(list(range(1, p + 1)) + [0], jnp.int32)[:, None]  # [P+1, 1]
    border = (m[None, :] == colour) & (colour > 0)  # [P+1, N]
    open_ = notcol[None, :] & ~border
    present = jnp.any(border, axis=-1).at[p].set(True)
    touch = from_grid(board, _nbr_any(to_grid(board, border, False), flat_grid(board).terr_offs))
    flags = jnp.where(h > 0, jnp.left_shift(1, jnp.clip(top - 1, 0)), 0)
    for q in range(1, p + 1):
        flags = flags | jnp.where(_buried(state, q), 1 << (_BURIED_BIT + q - 1), 0)
    flags = flags[None, :] | jnp.where(touch, 1 << _TOUCH_BIT, 0)
    lab = _labels(board, open_)
    ored = _segment_or(board, lab, jnp.where(open_, flags, 0))  # per rep (index = rep cell)
    ids = jnp.arange(n, dtype=jnp.int32)
    live = open_ & present[:, None]
    comp = jnp.where(live, lab, -1)
    is_rep = live & (lab == ids[None, :])
    seats = jnp.arange(1, p + 1, dtype=jnp.int32)
    owners = jnp.any(state.rings.astype(jnp.int32)[:, :, None] == seats[None, None, :], axis=(0, 1))
    n_active = jnp.sum(owners)
    n_rep = sum((ored >> q) & 1 for q in range(p))
    is_marker_pass = (jnp.arange(p + 1) < p)[:, None]
    cand = jnp.where(is_marker_pass, n_rep < n_active, (n_rep == 1) & (n_rep < n_active))

    candidate = is_rep & cand
    # cells of candidate regions keep their representative, all others -1
    in_cand = jnp.take_along_axis(candidate, jnp.clip(lab, 0, n - 1), axis=-1) & live
    labels = comp
    comp = jnp.where(in_cand, comp, -1)

    def widen(x, fill):  # [P+1, N] -> [5, N] (rows P..3 = absent colours)
        pad = jnp.full((NUM_PASSES - 1 - p, n), fill, x.dtype)
        return jnp.concatenate([x[:p], pad, x[p:]], axis=0)

    return RegionSummary(
        widen(comp, -1), widen(labels, -1), widen(candidate, False), widen(ored, 0), widen(is_rep, False)
    )


def find_regions(board: Board, state: State):
    """Disconnected-region candidates of all five passes (see the module docstring).

    Returns:
      comp: int32 [5, N], per pass the representative (lowest cell) of the candidate region
        each cell belongs to, -1 for cells in no candidate region of that pass (closed
        cells, non-candidate components, passes whose marker colour is absent).
      candidate: bool [5, N], True at (pass, rep) for every candidate region.
    """
    r = region_summary(board, state)
    return r.comp, r.candidate


def region_choices(board: Board, cfg: RulesConfig, state: State, seat, summary: RegionSummary = None):
    """bool [5, N]: legal REGION-block entries (pass, rep) for `seat`.

    Candidate regions that `seat` may process (normal context: controls a stack outside the
    region; recovery context `state.turn_recovery`: a stack outside holds a buried ring of
    `seat`), each distinct cell set once (lowest pass). All False while `state.pend_terr`.
    `summary`: `region_summary(board, state)` if already computed for this board (the
    expensive part; the rest is a few elementwise ops), else it is computed here.

    Every stack lies in an open cell of every pass, so "a qualifying stack outside region R"
    is "another component of R's pass has one". Two passes can only find the same cell set
    when it is bounded by collapsed cells alone (a marker on the boundary would belong to
    the other pass' region), so duplicates are exactly the marker-free-boundary regions with
    the same representative.
    """
    chex.assert_shape(state.marker, (board.num_cells,))
    reg = region_summary(board, state) if summary is None else summary
    seat = jnp.asarray(seat, jnp.int32)
    seat_bit = (reg.ored >> (seat - 1)) & 1
    buried_bit = (reg.ored >> (_BURIED_BIT + seat - 1)) & 1
    n_seat = jnp.sum(reg.is_rep & (seat_bit > 0), axis=-1, keepdims=True)
    n_buried = jnp.sum(reg.is_rep & (buried_bit > 0), axis=-1, keepdims=True)
    ok = jnp.where(state.turn_recovery, n_buried - buried_bit >= 1, n_seat - seat_bit >= 1)
    legal = reg.candidate & ok
    closed = ((reg.ored >> _TOUCH_BIT) & 1) == 0  # boundary has no marker
    lower = jnp.cumsum((legal & closed).astype(jnp.int32), axis=0) - (legal & closed)
    dup = closed & (lower > 0)
    return legal & ~dup & ~state.pend_terr


def has_region(board: Board, cfg: RulesConfig, state: State, seat, summary: RegionSummary = None) -> bool:
    """True iff `region_choices` offers at least one region (False while `pend_terr`)."""
    return jnp.any(region_choices(board, cfg, state, seat, summary))


def region_mask(board: Board, state: State, pass_, rep):
    """bool [N]: the cells of region (pass_, rep) (flood fill of the pass' open set from rep)."""
    g = flat_grid(board)
    m = state.marker.astype(jnp.int32)
    pass_ = jnp.asarray(pass_, jnp.int32)
    open_ = (state.collapsed == 0) & ~((m == pass_ + 1) & (pass_ < 4))
    og = to_grid(board, open_, False)
    seed = og & (jnp.asarray(g.cell_of_grid) == rep)
    return from_grid(board, _grow(seed, og, g.terr_offs))


def border_markers(board: Board, marker, region):
    """bool [N]: the border markers of `region` (bool [N]) that processing collapses.

    Seeds: markers of any colour territory-adjacent to the region; then grown through
    markers of any colour along `board.fill_nbrs`, never entering region cells.
    """
    g = flat_grid(board)
    rg = to_grid(board, region, False)
    eligible = to_grid(board, (marker > 0) & ~region, False)
    seeds = eligible & _nbr_any(rg, g.terr_offs)
    return from_grid(board, _grow(seeds, eligible, g.fill_offs))


def apply_region(board: Board, cfg: RulesConfig, state: State, pass_, rep, summary: RegionSummary = None) -> State:
    """Processes region (pass_, rep) for the seat to move (state.cur + 1); see the module
    docstring. Sets `pend_terr` (self-elimination due) iff the seat has an eligible target
    afterwards (normal: a controlled stack; recovery context: a stack with a buried ring of
    the seat) and `terr_region` = the region cells. Assumes the entry is legal.
    `summary`: `region_summary` of this board if at hand (saves the region flood fill).
    """
    chex.assert_shape(state.marker, (board.num_cells,))
    seat = state.cur.astype(jnp.int32) + 1
    if summary is None:
        region = region_mask(board, state, pass_, rep)
    else:
        region = summary.labels[pass_] == rep
    border = border_markers(board, state.marker, region)
    cm = region | border
    elim = jnp.sum(jnp.where(region, state.height.astype(jnp.int32), 0))
    gained = jnp.sum(cm).astype(jnp.int32)
    rings = jnp.where(region[:, None], 0, state.rings).astype(state.rings.dtype)
    height = jnp.where(region, 0, state.height).astype(state.height.dtype)
    onehot = jnp.arange(state.terr.shape[0]) == (seat - 1)
    new = state.replace(
        rings=rings,
        height=height,
        marker=jnp.where(cm, 0, state.marker).astype(state.marker.dtype),
        collapsed=jnp.where(cm, seat, state.collapsed).astype(state.collapsed.dtype),
        elim=state.elim + jnp.where(onehot, elim, 0).astype(state.elim.dtype),
        terr=state.terr + jnp.where(onehot, gained, 0).astype(state.terr.dtype),
    )
    top, h = _stack_info(new)
    has_buried = jnp.any(_buried(new, seat))
    has_ctrl = jnp.any((top == seat) & (h > 0))
    due = jnp.where(state.turn_recovery, has_buried, has_ctrl)
    return new.replace(pend_terr=due, terr_region=region)

