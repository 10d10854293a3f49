"""Marker lines (RULES.md §1.8, R120-R123) and the line helpers recovery needs (§1.11).

Everything here is a pure function of one game (no batch axis), jit- and vmap-safe, and
board-agnostic: the board enters only through static numpy tables derived from
`boards.Board` (`rays`, `opposite`, `line_axes`, `move_nbrs`, the grid embedding), so square8
and hex8 run the same code. Runs are counted with constant-offset shifts on the flat grid
embedding of rules/grid.py (elementwise int8 work, no data-dependent gathers).

Definitions (they match the reference `BoardManager.find_all_lines`):
- A *run* of seat s along line axis a is a maximal sequence of consecutive cells, stepping
  in the axis' positive direction (`board.line_axes[a]`), that all hold a marker of s.
  Empty cells, stacks, collapsed cells and other colours' markers end a run (a cell holds
  exactly one of nothing / stack / marker / collapsed, so the marker array alone decides).
- Its *start* is its first cell along the positive direction (the cell whose backward
  neighbour is not an s marker). A run is a *line* when its length >= cfg.line_length (L).
- LINE action block (actions.py), entry (a, c, kind):
  kind 0 at the start of a line: collapse the whole line (exact line, or overlength
  Option 1; the reference's `process_line CELLS` and `line_option CELLS all`);
  kind 1 at cell c inside an overlength line (length > L) whose L cells from c along the
  axis stay inside the line: collapse only those L cells (Option 2, `line_option CELLS seg
  SEG`, no elimination).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import chex
import jax
import jax.numpy as jnp
import numpy as np

from jaxzero.games.ringrift.boards import Board
from jaxzero.games.ringrift.rules.grid import flat_grid, from_grid, pad_sentinel, shift, to_grid
from jaxzero.games.ringrift.state import RulesConfig, State


class _LineTables(NamedTuple):
    along: np.ndarray  # int32 [A, N, K+1]: c, then the cells 1..K steps along +axis; N = off board
    back: np.ndarray  # int32 [A, N, K+1]: c, then the cells 1..K steps along -axis; N = off board


@functools.lru_cache(maxsize=None)
def _tables(board: Board) -> _LineTables:
    n = board.num_cells
    rays = np.where(board.rays < 0, n, board.rays)  # [N, D, K]
    axes = np.asarray(board.line_axes)
    opp = np.asarray(board.opposite)
    cells = np.arange(n, dtype=np.int32)[None, :, None]
    along = np.concatenate([np.broadcast_to(cells, (len(axes), n, 1)), rays[:, axes, :].transpose(1, 0, 2)], axis=-1)
    back = np.concatenate(
        [np.broadcast_to(cells, (len(axes), n, 1)), rays[:, opp[axes], :].transpose(1, 0, 2)], axis=-1
    )
    out = _LineTables(along.astype(np.int32), back.astype(np.int32))
    for arr in out:
        arr.setflags(write=False)
    return out


# The reference engine's line-direction order (BoardManager._get_line_directions): square
# E, SE, S, NE; hex (1,0,-1), (1,-1,0), (0,-1,1). Recovery takes the first completing axis
# in this order, which differs from `board.line_axes` on square8 (E, S, SE, NE).
_REFERENCE_AXIS_ORDER = ((1, 0), (1, 1), (0, 1), (1, -1), (1, 0, -1), (1, -1, 0), (0, -1, 1))


@functools.lru_cache(maxsize=None)
def reference_axis_priority(board: Board) -> np.ndarray:
    """int32 [A]: rank of each line axis in the reference's axis order (0 = tried first).

    Pick "the first line-forming axis" as `argmin(where(forms, priority, A))`.
    """
    dirs = [tuple(board.directions[int(d)]) for d in board.line_axes]
    ranks = [_REFERENCE_AXIS_ORDER.index(d) for d in dirs]
    out = np.argsort(np.argsort(ranks)).astype(np.int32)
    out.setflags(write=False)
    return out


def _grid_runs(board: Board, own):
    """Runs of `own` (bool [N]) on the flat grid embedding, per line axis.

    Returns int8 [A, G] arrays (fwd, bwd): the number of consecutive own cells starting at each
    grid point along +axis / -axis (0 where not own). Elementwise shifts only.
    """
    g = flat_grid(board)
    o = to_grid(board, own, False).astype(jnp.int8)
    zero = jnp.asarray(0, jnp.int8)
    fwd, bwd = [], []
    for k in g.axis_offs:
        f, b = o, o
        for _ in range(board.max_dist):
            f = o * (1 + shift(f, k, zero))
            b = o * (1 + shift(b, -k, zero))
        fwd.append(f)
        bwd.append(b)
    return jnp.stack(fwd), jnp.stack(bwd)


def _lines(board: Board, cfg: RulesConfig, marker, seat):
    """(start bool [A, N], length int32 [A, N], seg bool [A, N]) for `seat`'s lines; seg =
    Option-2 segment starts (cells with >= L own cells ahead inside an overlength line)."""
    own = marker == seat
    fwd, bwd = _grid_runs(board, own)
    fwd = from_grid(board, fwd).astype(jnp.int32)
    bwd = from_grid(board, bwd).astype(jnp.int32)
    big = cfg.line_length
    total = fwd + bwd - 1  # run length through the cell (own cells only)
    start = (bwd == 1) & (fwd >= big)
    seg = (fwd >= big) & (total > big)
    return start, jnp.where(start, fwd, 0).astype(jnp.int32), seg


def find_lines(board: Board, cfg: RulesConfig, marker, seat):
    """Lines of `seat`'s markers along every line axis.

    Args:
      marker: int [N] marker owner per cell (0 none), e.g. `state.marker`.
      seat: 1-based seat (python int or traced int scalar).
    Returns:
      start: bool [A, N], True at the start cell (first along the axis' positive direction)
        of every maximal run of `seat` markers whose length is >= cfg.line_length.
      length: int32 [A, N], that run's length where `start`, else 0.
    """
    chex.assert_shape(marker, (board.num_cells,))
    start, length, _ = _lines(board, cfg, marker, seat)
    return start, length


def has_line(board: Board, cfg: RulesConfig, state: State, seat) -> bool:
    """True iff `seat` has at least one line (>= cfg.line_length markers) on the board."""
    start, _ = find_lines(board, cfg, state.marker, seat)
    return jnp.any(start)


def line_summary(board: Board, cfg: RulesConfig, state: State):
    """bool [P, A, N, 2]: `line_choices` of every seat (row s-1 = seat s), ignoring
    `pend_line`. It depends only on the markers, so one call serves every seat on a board
    (e.g. across bookkeeping moves that rotate the seat)."""
    chex.assert_shape(state.marker, (board.num_cells,))
    seats = jnp.arange(1, state.hand.shape[0] + 1, dtype=jnp.int32)

    def one(seat):
        start, _, seg = _lines(board, cfg, state.marker, seat)
        return jnp.stack([start, seg], axis=-1)

    return jax.vmap(one)(seats)


def line_choices(board: Board, cfg: RulesConfig, state: State, seat, summary=None):
    """bool [A, N, 2]: the legal LINE-block entries for `seat` (see the module docstring).

    kind 0 at every line start; kind 1 at the start of every contiguous cfg.line_length
    sub-segment of every overlength line. All False while `state.pend_line` (the line-reward
    elimination must be resolved first; the reference then lists only `elim C line` moves).
    `summary`: `line_summary(board, cfg, state)` if already computed for this board.
    """
    chex.assert_shape(state.marker, (board.num_cells,))
    if summary is None:
        start, _, seg = _lines(board, cfg, state.marker, seat)
        out = jnp.stack([start, seg], axis=-1)
    else:
        out = summary[jnp.asarray(seat, jnp.int32) - 1]
    return out & ~state.pend_line


def segment_mask(board: Board, axis, cell, n):
    """bool [N]: the `n` cells starting at `cell` and stepping along +axis `axis` (on-board ones).

    `axis`, `cell`, `n` may be traced scalars. Used to collapse a line or an Option-2
    segment (also for recovery's Option 1 / Option 2 collapses).
    """
    t = _tables(board)
    back = jnp.asarray(t.back)[axis]  # [N, K+1]
    offs = jnp.arange(t.back.shape[-1], dtype=jnp.int32)
    return jnp.any((back == cell) & (offs < n), axis=-1)


def _stack_top(state: State):
    """int [N]: owner of each stack's top ring (0 where no stack)."""
    h = state.height.astype(jnp.int32)
    top = jnp.take_along_axis(state.rings, jnp.clip(h - 1, 0)[:, None], axis=1)[:, 0]
    return jnp.where(h > 0, top, 0).astype(jnp.int32)


def apply_line(board: Board, cfg: RulesConfig, state: State, axis, cell, kind) -> State:
    """Applies LINE-block entry (axis, cell, kind) for the seat to move (state.cur + 1).

    kind 0: collapses the whole line starting at `cell`; kind 1: collapses the
    cfg.line_length cells starting at `cell`. The collapsed cells lose their markers and
    become the seat's collapsed territory (terr[seat-1] += number of cells). Kind 0 then sets
    `pend_line` iff the seat controls at least one stack (otherwise the reward elimination is
    waived); kind 1 (Option 2) never does. Assumes the entry is legal (`line_choices`).
    """
    chex.assert_shape(state.marker, (board.num_cells,))
    seat = state.cur.astype(jnp.int32) + 1
    _, length = find_lines(board, cfg, state.marker, seat)
    n = jnp.where(kind == 0, length[axis, cell], cfg.line_length)
    mask = segment_mask(board, axis, cell, n)
    count = jnp.sum(mask).astype(state.terr.dtype)
    seat_onehot = jnp.arange(state.terr.shape[0]) == (seat - 1)
    controls = jnp.any(_stack_top(state) == seat)
    return state.replace(
        marker=jnp.where(mask, 0, state.marker).astype(state.marker.dtype),
        collapsed=jnp.where(mask, seat, state.collapsed).astype(state.collapsed.dtype),
        terr=state.terr + jnp.where(seat_onehot, count, 0).astype(state.terr.dtype),
        pend_line=(kind == 0) & controls,
    )


def lines_through(board: Board, cfg: RulesConfig, marker, seat, cell):
    """The run of `seat` markers through `cell` on every line axis, counting `cell` itself as
    a `seat` marker whatever `marker[cell]` holds (recovery: "would the marker I slide to
    `cell` complete a line?", R112).

    Pass the marker array as it is after the slide except for `cell` (i.e. with the sliding
    marker's origin already cleared), so the origin does not count.
    Returns:
      start: int32 [A], the run's first cell along the axis' positive direction.
      length: int32 [A], the run's length (>= 1). It is a line iff length >= cfg.line_length;
        collapse it with `segment_mask(board, a, start[a], length[a])` (Option 1) or any
        `segment_mask(board, a, start[a] + o steps, L)` with 0 <= o <= length - L (Option 2).
    The reference recovery picks the first completing axis in its own axis order
    (`reference_axis_priority`; square E, SE, S, NE, while `board.line_axes` is E, S, SE, NE).
    """
    chex.assert_shape(marker, (board.num_cells,))
    t = _tables(board)
    fwd, bwd = _grid_runs(board, marker == seat)
    fwd = pad_sentinel(from_grid(board, fwd).astype(jnp.int32), 0)  # [A, N+1]
    bwd = pad_sentinel(from_grid(board, bwd).astype(jnp.int32), 0)
    nxt = jnp.asarray(t.along)[:, cell, 1]  # [A]
    prv = jnp.asarray(t.back)[:, cell, 1]
    ax = jnp.arange(fwd.shape[0])
    f = fwd[ax, nxt]
    b = bwd[ax, prv]
    start = jnp.asarray(t.back)[ax, cell, b]
    return start.astype(jnp.int32), (1 + f + b).astype(jnp.int32)


def slide_lines(board: Board, cfg: RulesConfig, marker, seat):
    """Vectorised `lines_through` for every one-step slide of a `seat` marker (recovery, R112).

    For origin c and movement direction d (destination e = board.move_nbrs[c, d]) returns the
    length, on every line axis, of the run of `seat` markers through e after the marker moved
    from c to e (c cleared, e set). Shape int32 [N, D, A]; 0 where e is off the board.
    The caller masks what is a legal slide (c holds a `seat` marker, e is empty); a slide is
    line-forming iff any(length >= cfg.line_length).
    """
    chex.assert_shape(marker, (board.num_cells,))
    g = flat_grid(board)
    fwd, bwd = _grid_runs(board, marker == seat)  # int8 [A, G]
    zero = jnp.asarray(0, jnp.int8)
    on = jnp.asarray(g.cell_of_grid < board.num_cells)
    rows = []
    for m in g.move_offs:
        dest_on = shift(on, m, False)
        per_axis = []
        for a, k in enumerate(g.axis_offs):
            f = shift(fwd[a], m + k, zero) if m != -k else jnp.zeros_like(fwd[a])
            b = shift(bwd[a], m - k, zero) if m != k else jnp.zeros_like(bwd[a])
            per_axis.append(jnp.where(dest_on, 1 + f.astype(jnp.int32) + b.astype(jnp.int32), 0))
        rows.append(jnp.stack(per_axis))
    length = from_grid(board, jnp.stack(rows))  # [D, A, N]
    return jnp.transpose(length, (2, 0, 1)).astype(jnp.int32)
