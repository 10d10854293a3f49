"""The flat grid embedding of a board, shared by the line and territory rules.

A board's convolutional embedding (`board.grid_shape`) with one extra always-closed column,
flattened row-major, so that every neighbour relation (territory, border fill, movement, line
axes) is a constant 1-D offset and neighbourhoods are elementwise shifts instead of gathers.
"""

from __future__ import annotations

import functools
from typing import NamedTuple, Tuple

import jax.numpy as jnp
import numpy as np

from jaxzero.games.ringrift.boards import Board


class FlatGrid(NamedTuple):
    """Static flat-grid view of a board: its convolutional embedding (`board.grid_shape`)
    with one extra always-closed column, flattened row-major, so that every neighbour
    relation is a constant 1-D offset (moves off a row land in the extra column, moves off
    the top/bottom fall outside the array)."""

    size: int  # G = rows * (cols + 1)
    cell_of_grid: np.ndarray  # int32 [G]: cell id at each grid point, N for padding points
    grid_of_cell: np.ndarray  # int32 [N]: grid point of each cell
    terr_offs: Tuple[int, ...]  # 1-D offset of each territory neighbour slot
    fill_offs: Tuple[int, ...]  # 1-D offset of each border-fill neighbour slot
    move_offs: Tuple[int, ...]  # 1-D offset of each movement direction (board.directions)
    axis_offs: Tuple[int, ...]  # 1-D offset of each line axis' positive direction


def _offsets_of(table: np.ndarray, grid_of_cell: np.ndarray, cell_of_grid: np.ndarray, width: int, name: str):
    """The constant flat-grid offset of each column of a neighbour table, checked to reproduce it."""
    n = table.shape[0]
    size = cell_of_grid.shape[0]
    rc = np.stack([grid_of_cell // width, grid_of_cell % width], axis=1)
    out = []
    for j in range(table.shape[1]):
        ds = {tuple(int(v) for v in rc[table[c, j]] - rc[c]) for c in range(n) if table[c, j] >= 0}
        if len(ds) != 1:
            raise ValueError(f"{name} column {j} is not a constant grid offset: {ds}")
        ((dr, dc),) = ds
        off = dr * width + dc
        for c in range(n):
            q = grid_of_cell[c] + off
            got = int(cell_of_grid[q]) if 0 <= q < size else n
            if got != (table[c, j] if table[c, j] >= 0 else n):
                raise ValueError(f"{name} column {j}: grid offset ({dr}, {dc}) disagrees with the table at cell {c}")
        out.append(off)
    return tuple(out)


@functools.lru_cache(maxsize=None)
def flat_grid(board: Board) -> FlatGrid:
    """The (cached) flat-grid view of `board`; every offset is checked against its neighbour table."""
    n = board.num_cells
    rows, cols = board.grid_shape
    width = cols + 1
    gi = np.asarray(board.grid_index, np.int32)
    grid_of_cell = (gi // cols) * width + gi % cols
    cell_of_grid = np.full(rows * width, n, np.int32)
    cell_of_grid[grid_of_cell] = np.arange(n, dtype=np.int32)
    terr = _offsets_of(np.asarray(board.terr_nbrs), grid_of_cell, cell_of_grid, width, "terr_nbrs")
    fill = _offsets_of(np.asarray(board.fill_nbrs), grid_of_cell, cell_of_grid, width, "fill_nbrs")
    move = _offsets_of(np.asarray(board.move_nbrs), grid_of_cell, cell_of_grid, width, "move_nbrs")
    axis = tuple(move[int(d)] for d in board.line_axes)
    for a in (cell_of_grid, grid_of_cell):
        a.setflags(write=False)
    return FlatGrid(rows * width, cell_of_grid, grid_of_cell, terr, fill, move, axis)


def pad_sentinel(x, value):
    """Appends one sentinel entry (index N = off board) on the last axis."""
    pad = jnp.full(x.shape[:-1] + (1,), value, x.dtype)
    return jnp.concatenate([x, pad], axis=-1)


def to_grid(board: Board, x, fill):
    """[..., N] -> [..., G] (padding grid points get `fill`)."""
    g = flat_grid(board)
    xp = jnp.concatenate([x, jnp.full(x.shape[:-1] + (1,), fill, x.dtype)], axis=-1)
    return jnp.take(xp, jnp.asarray(g.cell_of_grid), axis=-1)


def from_grid(board: Board, x):
    """[..., G] -> [..., N]."""
    return jnp.take(x, jnp.asarray(flat_grid(board).grid_of_cell), axis=-1)


def shift(x, k, fill):
    """y[..., i] = x[..., i + k] along the last axis, `fill` beyond the ends."""
    if k == 0:
        return x
    pad = jnp.full(x.shape[:-1] + (abs(k),), fill, x.dtype)
    if k > 0:
        return jnp.concatenate([x[..., k:], pad], axis=-1)
    return jnp.concatenate([pad, x[..., :k]], axis=-1)
