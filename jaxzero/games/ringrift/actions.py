"""The RingRift action layout: one flat discrete space per board, the same for 2-4 players.

Every legal decision has its own index. Blocks, in order (N cells, D directions,
K = longest ray, A line axes; numbers for square8 / hex8):

| block    | size         | id inside the block                 | decisions |
|----------|--------------|-------------------------------------|-----------|
| place    | 3N           | 3c + (count-1)                      | place_ring with count 1..3 at cell c |
| ray      | N*D*K        | (c*D + d)*K + (k-1)                 | move_stack / overtaking_capture / continue_capture_segment from c, direction d, landing distance k (a capture's target is the first stack on the ray); recovery_slide of the marker at c one step (k = 1) in direction d (mode follows from the destination) |
| line     | A*N*2        | (a*N + c)*2 + kind                  | kind 0: collapse the whole line whose first cell (along axis a) is c (exact line or overlength Option 1); kind 1: collapse only the line_length markers starting at c (overlength Option 2). Also the recovery Option 1/2 choice |
| region   | 5N           | pass*N + rep                        | choose_territory_option: region found in pass `pass` (0..3: border marker colour of seat 1..4, 4: bounded by collapsed cells only) whose lowest cell is rep; duplicate cell sets are offered once (lowest pass) |
| target   | N            | c                                   | a stack choice: line-reward top ring, territory cap / recovery-context extraction, forced-elimination cap, recovery extraction stack |
| special  | 5            | see SPECIAL_*                       | skip_placement, skip_capture, skip_territory_processing, skip_recovery, swap_sides |
| bookkeep | 4            | see BOOKKEEPING_*                   | no_placement/movement/line/territory_action: reserved, never legal for an agent (the step function applies them itself) |

square8: 192 + 3584 + 512 + 320 + 64 + 5 + 4 = 4681; hex8: 183 + 2928 + 366 + 305 + 61 + 5 + 4 = 3852.
"""

from __future__ import annotations

import dataclasses
import functools

import jax.numpy as jnp
import numpy as np

from jaxzero.games.ringrift.boards import Board, get_board

# block ids (also the kind returned by `decode`)
PLACE, RAY, LINE, REGION, TARGET, SPECIAL, BOOKKEEP = range(7)
BLOCK_NAMES = ("place", "ray", "line", "region", "target", "special", "bookkeep")

SKIP_PLACEMENT, SKIP_CAPTURE, SKIP_TERRITORY, SKIP_RECOVERY, SWAP = range(5)
SPECIAL_NAMES = ("skip_placement", "skip_capture", "skip_territory_processing", "skip_recovery", "swap_sides")
NO_PLACEMENT, NO_MOVEMENT, NO_LINE, NO_TERRITORY = range(4)
BOOKKEEPING_NAMES = ("no_placement_action", "no_movement_action", "no_line_action", "no_territory_action")
NUM_REGION_PASSES = 5  # border colours of seats 1..4, then collapsed-only


@dataclasses.dataclass(frozen=True)
class ActionLayout:
    """Offsets and sizes of the action blocks for one board (static, hashable)."""

    board_name: str
    num_cells: int
    num_dirs: int
    max_dist: int
    num_axes: int

    @property
    def sizes(self):
        n = self.num_cells
        return (3 * n, n * self.num_dirs * self.max_dist, self.num_axes * n * 2, NUM_REGION_PASSES * n, n, 5, 4)

    @property
    def offsets(self):
        return tuple(int(v) for v in np.concatenate([[0], np.cumsum(self.sizes)[:-1]]))

    @property
    def num_actions(self) -> int:
        return int(sum(self.sizes))

    # ---- encoders (python ints or jnp arrays) ----
    def place(self, c, count):
        return self.offsets[PLACE] + 3 * c + (count - 1)

    def ray(self, c, d, k):
        return self.offsets[RAY] + (c * self.num_dirs + d) * self.max_dist + (k - 1)

    def line(self, axis, c, kind):
        return self.offsets[LINE] + (axis * self.num_cells + c) * 2 + kind

    def region(self, pass_, rep):
        return self.offsets[REGION] + pass_ * self.num_cells + rep

    def target(self, c):
        return self.offsets[TARGET] + c

    def special(self, which):
        return self.offsets[SPECIAL] + which

    def bookkeeping(self, which):
        return self.offsets[BOOKKEEP] + which

    # ---- decoder (python int) ----
    def decode(self, a: int):
        """Returns (block, fields) for a python action id; ValueError if out of range.

        fields: place (c, count); ray (c, d, k); line (axis, c, kind); region (pass, rep);
        target (c,); special (which,); bookkeep (which,).
        """
        a = int(a)
        if not 0 <= a < self.num_actions:
            raise ValueError(f"action id {a} out of range [0, {self.num_actions}) for {self.board_name}")
        offs = self.offsets
        block = int(np.searchsorted(np.asarray(offs), a, side="right") - 1)
        r = a - offs[block]
        n, nd, k = self.num_cells, self.num_dirs, self.max_dist
        if block == PLACE:
            return block, (r // 3, r % 3 + 1)
        if block == RAY:
            cd, kk = divmod(r, k)
            c, d = divmod(cd, nd)
            return block, (c, d, kk + 1)
        if block == LINE:
            ac, kind = divmod(r, 2)
            axis, c = divmod(ac, n)
            return block, (axis, c, kind)
        if block == REGION:
            return block, divmod(r, n)
        return block, (r,)

    # ---- reshaping helpers for masks (jnp) ----
    def split(self, mask):
        """Splits a [..., num_actions] array into its blocks, each reshaped to its natural shape.

        Returns a tuple: place [..., N, 3], ray [..., N, D, K], line [..., A, N, 2],
        region [..., 5, N], target [..., N], special [..., 5], bookkeep [..., 4].
        """
        n, nd, k, na = self.num_cells, self.num_dirs, self.max_dist, self.num_axes
        shapes = ((n, 3), (n, nd, k), (na, n, 2), (NUM_REGION_PASSES, n), (n,), (5,), (4,))
        out = []
        for off, size, shp in zip(self.offsets, self.sizes, shapes):
            out.append(mask[..., off : off + size].reshape(mask.shape[:-1] + shp))
        return tuple(out)

    def join(self, place, ray, line, region, target, special, bookkeep):
        """Inverse of `split`: concatenates block arrays into a [..., num_actions] array."""
        parts = (place, ray, line, region, target, special, bookkeep)
        lead = special.shape[:-1]
        return jnp.concatenate([jnp.reshape(p, lead + (-1,)) for p in parts], axis=-1)


def layout_for(board: Board) -> ActionLayout:
    """The action layout of a board (derived from its geometry)."""
    return _layout(board.name)


@functools.lru_cache(maxsize=None)
def _layout(name: str) -> ActionLayout:
    b = get_board(name)
    return ActionLayout(
        board_name=name,
        num_cells=b.num_cells,
        num_dirs=b.num_dirs,
        max_dist=b.max_dist,
        num_axes=len(b.line_axes),
    )
