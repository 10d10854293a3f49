"""Network input planes for RingRift, relative to the seat to move.

Seats are rotated so the mover is seat 0 of every per-seat group; each opponent
has its own planes (no merged "opponent" plane). Everything is computed from the
State alone (no history), so search leaves and training positions encode alike.

Output: float32 [rows, cols, C] on the board's grid embedding (8x8 square, 9x9 hex
with a validity plane). Channel groups, P = num_players, H = max stack height:

| planes       | count | content |
|--------------|-------|---------|
| valid        | 1     | cell exists (hex8 padding is 0) |
| height       | 1     | stack height / H |
| cap          | 1     | cap height / H |
| control      | P     | stack controlled by rotated seat i |
| composition  | P     | rings of rotated seat i in the stack / H |
| buried       | P     | rotated seat i has a ring below the top of the stack |
| marker       | P     | marker of rotated seat i |
| collapsed    | P     | collapsed cell owned by rotated seat i |
| must_move    | 1     | the must-move stack |
| attack       | 1     | capture / chain attacker cell |
| region       | 1     | the territory region just processed (pending self-elimination) |
| phase        | 8     | one-hot phase, broadcast |
| flags        | 6     | pend_line, pend_terr, pend_extract, turn_recovery, acted, swap_window, broadcast |
| counts       | 3P    | per rotated seat: hand / 18, eliminated / threshold, territory / minimum, broadcast |
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np

from jaxzero.games.ringrift import actions
from jaxzero.games.ringrift.boards import get_board
from jaxzero.games.ringrift.rules.stacks import top_and_cap
from jaxzero.games.ringrift.state import RINGS_PER_PLAYER, State, RulesConfig

NUM_PHASES = 8
NUM_FLAGS = 6


def num_planes(num_players: int) -> int:
    """Number of observation channels for `num_players` players."""
    return 3 + 5 * num_players + 3 + NUM_PHASES + NUM_FLAGS + 3 * num_players


def observation_shape(cfg: RulesConfig):
    """(rows, cols, channels) of `observe` for this rules configuration."""
    rows, cols = get_board(cfg.board).grid_shape
    return (rows, cols, num_planes(cfg.num_players))


def rotate_seats(x: jax.Array, mover: jax.Array) -> jax.Array:
    """Rotates a per-seat vector [P, ...] so index 0 is `mover` (0-based), 1 the next seat, ..."""
    p = x.shape[0]
    return x[(jnp.arange(p) + mover) % p]


def observe(cfg: RulesConfig, state: State) -> jax.Array:
    """Encodes one game from the point of view of the seat to move: float32 [rows, cols, C]."""
    b = get_board(cfg.board)
    n, h, p = b.num_cells, b.max_height, cfg.num_players
    chex.assert_shape(state.rings, (n, h))
    mover = state.cur
    # seat values on the board are 1..P; rotated index r of seat s is (s - 1 - mover) mod P
    rot = lambda owner: jnp.where(owner > 0, (owner.astype(jnp.int32) - 1 - mover) % p, -1)  # noqa: E731
    seats = jnp.arange(p)

    height = state.height.astype(jnp.int32)
    idx = jnp.arange(h)
    present = idx[None, :] < height[:, None]  # [N, H]
    top, cap = top_and_cap(state.rings, state.height)

    ring_rot = rot(state.rings)  # [N, H]
    comp = jnp.sum((ring_rot[:, :, None] == seats) & present[:, :, None], axis=1)  # [N, P]
    buried = jnp.any((ring_rot[:, :, None] == seats) & present[:, :, None] & (idx[None, :, None] < height[:, None, None] - 1), axis=1)
    control = rot(top)[:, None] == seats
    marker = rot(state.marker)[:, None] == seats
    collapsed = rot(state.collapsed)[:, None] == seats

    cells = jnp.arange(n)
    cell_planes = jnp.concatenate(
        [
            jnp.ones((n, 1)),
            (height / h)[:, None],
            (cap / h)[:, None],
            control,
            comp / h,
            buried,
            marker,
            collapsed,
            (cells == state.must_move)[:, None],
            (cells == state.attack)[:, None],
            state.terr_region[:, None],
        ],
        axis=1,
    ).astype(jnp.float32)

    phase = jax.nn.one_hot(state.phase, NUM_PHASES)
    flags = jnp.stack(
        [state.pend_line, state.pend_terr, state.pend_extract, state.turn_recovery, state.acted, state.swap_window]
    ).astype(jnp.float32)
    counts = jnp.concatenate(
        [
            rotate_seats(state.hand, mover) / RINGS_PER_PLAYER,
            rotate_seats(state.elim, mover) / jnp.maximum(state.victory_threshold, 1),
            rotate_seats(state.terr, mover) / jnp.maximum(state.territory_minimum, 1),
        ]
    ).astype(jnp.float32)
    glob = jnp.concatenate([phase, flags, counts])

    rows, cols = b.grid_shape
    grid = jnp.zeros((rows * cols, cell_planes.shape[1]), jnp.float32).at[b.grid_index].set(cell_planes)
    grid = grid.reshape(rows, cols, -1)
    glob_planes = jnp.broadcast_to(glob, (rows, cols, glob.shape[0])) * jnp.asarray(b.grid_valid, jnp.float32)[..., None]
    out = jnp.concatenate([grid, glob_planes], axis=-1)
    chex.assert_shape(out, observation_shape(cfg))
    return out


def policy_gather_table(board_name: str) -> tuple[np.ndarray, int, int]:
    """Static table for a spatial policy head: where each action id reads its logit.

    The head produces per-cell logits [rows * cols, cell_channels] and `num_global`
    pooled logits. Returns (index [A] int32 into the concatenation
    `[cell_logits.reshape(-1), global_logits]`, cell_channels, num_global).
    Per-cell channels: place count 1..3 (3), ray (d, k) (D*K), line (axis, kind) (2A),
    region pass (5), target (1); globals: the 5 specials and 4 bookkeeping ids.
    """
    b = get_board(board_name)
    lay = actions.layout_for(b)
    n, nd, k, na = b.num_cells, b.num_dirs, b.max_dist, len(b.line_axes)
    ch_place, ch_ray, ch_line, ch_region, ch_target = 0, 3, 3 + nd * k, 3 + nd * k + 2 * na, 3 + nd * k + 2 * na + 5
    cell_channels = ch_target + 1
    rows, cols = b.grid_shape
    num_cell_logits = rows * cols * cell_channels
    g = b.grid_index.astype(np.int64)
    index = np.full(lay.num_actions, -1, np.int64)
    for c in range(n):
        for cnt in (1, 2, 3):
            index[lay.place(c, cnt)] = g[c] * cell_channels + ch_place + cnt - 1
        for d in range(nd):
            for kk in range(1, k + 1):
                index[lay.ray(c, d, kk)] = g[c] * cell_channels + ch_ray + d * k + kk - 1
        for a in range(na):
            for kind in (0, 1):
                index[lay.line(a, c, kind)] = g[c] * cell_channels + ch_line + 2 * a + kind
        for ps in range(actions.NUM_REGION_PASSES):
            index[lay.region(ps, c)] = g[c] * cell_channels + ch_region + ps
        index[lay.target(c)] = g[c] * cell_channels + ch_target
    for w in range(5):
        index[lay.special(w)] = num_cell_logits + w
    for w in range(4):
        index[lay.bookkeeping(w)] = num_cell_logits + 5 + w
    assert (index >= 0).all()
    index.setflags(write=False)
    return index.astype(np.int32), cell_channels, 9
