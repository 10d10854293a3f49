"""RingRift board definitions and the geometry tables derived from them.

This is the only place a board lives. Each board is described by a small
definition (its cells as integer coordinate tuples, its movement directions, its
line axes, its territory adjacency and its border-fill offsets); every table the
rules need (rays, neighbours, opposite directions, the grid embedding for
convolutional observations, the stack-height bound) is derived from that
definition once, in numpy, and baked into jitted code as constants.

Cells are indexed densely, in ascending order of their coordinate tuple, which
is also the order the reference traces use to sort cell lists:
- square8: (x, y), 0 <= x, y < 8 (64 cells; sorted by (x, y), so c = 8 * x + y,
  but use `Board.index` / `Board.coords`, never a formula).
- hex8: cube (x, y, z), x + y + z = 0, max(|x|, |y|, |z|) <= 4 (61 cells).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Tuple

import numpy as np

Coord = Tuple[int, ...]


@dataclasses.dataclass(frozen=True, eq=False)
class Board:
    """Static geometry of one board; all arrays are numpy (host) constants.

    Attributes:
      name: "square8" or "hex8".
      coords: tuple of cell coordinate tuples, index = dense cell id (sorted).
      num_cells: N.
      directions: movement/capture unit vectors (tuples), D of them.
      opposite: int [D], index of the opposite direction.
      max_dist: K, the longest straight ray (7 on square8, 8 on hex8).
      rays: int32 [N, D, K]: cell reached after k+1 steps from c in direction d, or -1.
      line_axes: int32 [A]: direction index of each line axis' positive direction.
      terr_nbrs: int32 [N, T]: territory neighbours (4 on square, 6 on hex), -1 padded.
      terr_adj: bool [N, N]: territory adjacency matrix.
      move_nbrs: int32 [N, D]: the first cell of each ray (movement adjacency), -1 padded.
      fill_nbrs: int32 [N, 8]: border-marker flood-fill neighbours (the reference's
        8 (x, y) offsets; on hex8 this includes two distance-2 cells), -1 padded.
      max_height: H, exact bound on stack height (K + 1, see RULES.md §2.2).
      grid_shape: (rows, cols) of the convolutional embedding.
      grid_index: int32 [N]: flat index of each cell in the grid (row * cols + col).
      grid_valid: bool [rows, cols]: which grid points are cells.
    """

    name: str
    coords: Tuple[Coord, ...]
    directions: Tuple[Coord, ...]
    line_axis_dirs: Tuple[Coord, ...]
    terr_offsets: Tuple[Coord, ...]
    fill_offsets_xy: Tuple[Tuple[int, int], ...]
    grid_shape: Tuple[int, int]

    # ---- derived (filled in __post_init__) ----
    def __post_init__(self):
        coords = self.coords
        index = {c: i for i, c in enumerate(coords)}
        n = len(coords)
        dirs = self.directions
        nd = len(dirs)

        def add(c, d, k=1):
            return tuple(a + k * b for a, b in zip(c, d))

        opposite = np.array([dirs.index(tuple(-v for v in d)) for d in dirs], np.int32)
        # longest straight ray
        kmax = 0
        for c in coords:
            for d in dirs:
                k = 0
                while add(c, d, k + 1) in index:
                    k += 1
                kmax = max(kmax, k)
        rays = -np.ones((n, nd, kmax), np.int32)
        for i, c in enumerate(coords):
            for j, d in enumerate(dirs):
                for k in range(kmax):
                    rays[i, j, k] = index.get(add(c, d, k + 1), -1)
        line_axes = np.array([dirs.index(a) for a in self.line_axis_dirs], np.int32)

        def nbr_table(offsets, lift):
            t = -np.ones((n, len(offsets)), np.int32)
            for i, c in enumerate(coords):
                for j, o in enumerate(offsets):
                    t[i, j] = index.get(lift(c, o), -1)
            return t

        terr_nbrs = nbr_table(self.terr_offsets, lambda c, o: add(c, o))
        terr_adj = np.zeros((n, n), bool)
        for i in range(n):
            for j in terr_nbrs[i]:
                if j >= 0:
                    terr_adj[i, j] = True

        def lift_xy(c, o):
            if len(c) == 2:
                return (c[0] + o[0], c[1] + o[1])
            x, y = c[0] + o[0], c[1] + o[1]
            return (x, y, -x - y)

        fill_nbrs = nbr_table(self.fill_offsets_xy, lift_xy)

        rows, cols = self.grid_shape
        grid_index = np.zeros(n, np.int32)
        grid_valid = np.zeros((rows, cols), bool)
        for i, c in enumerate(coords):
            r, q = _grid_rc(self.name, c)
            grid_index[i] = r * cols + q
            grid_valid[r, q] = True

        for arr in (opposite, rays, line_axes, terr_nbrs, terr_adj, fill_nbrs, grid_index, grid_valid):
            arr.setflags(write=False)
        set_ = functools.partial(object.__setattr__, self)
        set_("_index", index)
        set_("num_cells", n)
        set_("num_dirs", nd)
        set_("opposite", opposite)
        set_("max_dist", kmax)
        set_("rays", rays)
        set_("line_axes", line_axes)
        set_("terr_nbrs", terr_nbrs)
        set_("terr_adj", terr_adj)
        set_("move_nbrs", rays[:, :, 0].copy())
        set_("fill_nbrs", fill_nbrs)
        set_("max_height", kmax + 1)
        set_("grid_index", grid_index)
        set_("grid_valid", grid_valid)

    # ---- conversions ----
    def index(self, coord: Coord) -> int:
        """Dense cell id of a coordinate tuple; ValueError if it is not on the board."""
        try:
            return self._index[tuple(coord)]
        except KeyError:
            raise ValueError(f"{coord} is not a cell of {self.name}") from None

    def cell_str(self, c: int) -> str:
        """The traces' cell key ("x,y" or "x,y,z")."""
        return ",".join(str(v) for v in self.coords[c])

    def parse_cell(self, s: str) -> int:
        """Parses a cell key ("x,y" / "x,y,z"); ValueError naming the problem."""
        try:
            coord = tuple(int(v) for v in s.split(","))
        except ValueError:
            raise ValueError(f"malformed cell {s!r} for board {self.name}") from None
        if len(coord) != len(self.coords[0]):
            raise ValueError(f"cell {s!r} has {len(coord)} coordinates; {self.name} needs {len(self.coords[0])}")
        return self.index(coord)

    def __hash__(self):
        return hash(self.name)

    def __eq__(self, other):
        return isinstance(other, Board) and other.name == self.name

    def __repr__(self):
        return f"Board({self.name!r}, cells={self.num_cells})"


def _grid_rc(name: str, c: Coord) -> Tuple[int, int]:
    if name.startswith("square"):
        return c[1], c[0]  # row = y, col = x
    return c[1] + 4, c[0] + 4  # axial embedding of the cube coordinates (row = y, col = x)


_SQUARE_DIRS = ((1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1))
_HEX_DIRS = ((1, 0, -1), (0, 1, -1), (-1, 1, 0), (-1, 0, 1), (0, -1, 1), (1, -1, 0))
_MOORE_XY = ((1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1))


def _square8() -> Board:
    coords = tuple(sorted((x, y) for x in range(8) for y in range(8)))
    return Board(
        name="square8",
        coords=coords,
        directions=_SQUARE_DIRS,
        line_axis_dirs=((1, 0), (0, 1), (1, 1), (1, -1)),  # E, S, SE, NE
        terr_offsets=((1, 0), (0, 1), (-1, 0), (0, -1)),
        fill_offsets_xy=_MOORE_XY,
        grid_shape=(8, 8),
    )


def _hex8() -> Board:
    r = 4
    coords = tuple(
        sorted((x, y, -x - y) for x in range(-r, r + 1) for y in range(-r, r + 1) if abs(-x - y) <= r)
    )
    return Board(
        name="hex8",
        coords=coords,
        directions=_HEX_DIRS,
        line_axis_dirs=((1, 0, -1), (1, -1, 0), (0, -1, 1)),
        terr_offsets=_HEX_DIRS,
        fill_offsets_xy=_MOORE_XY,
        grid_shape=(9, 9),
    )


_BOARDS = {"square8": _square8, "hex8": _hex8}
BOARD_NAMES = tuple(_BOARDS)


@functools.lru_cache(maxsize=None)
def get_board(name: str) -> Board:
    """The board definition and derived tables for `name` ("square8" or "hex8")."""
    if name not in _BOARDS:
        raise ValueError(f"unknown board {name!r}; expected one of {BOARD_NAMES}")
    return _BOARDS[name]()
