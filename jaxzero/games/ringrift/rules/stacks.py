"""Stack primitives (R022, R023) over the bottom -> top ring storage of `State`.

All functions are pure and jit/vmap-safe. Whole-board queries return [N] arrays; single-cell
mutations take a traced cell index `c` and return the new (rings, height) pair or a new State.
Seats are 1-based in every argument named `seat` (the owner values stored on the board).
"""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np

from jaxzero.games.ringrift.boards import get_board


@functools.lru_cache(maxsize=None)
def geometry(board_name: str):
    """Numpy constants of a board used by the rules (cached per board).

    rays_p: int32 [N, D, K] ray cells with off-board steps mapped to the sentinel N, so per-cell
    arrays padded with one extra entry (index N) can be gathered without masks.
    """
    b = get_board(board_name)
    n = b.num_cells
    rays_p = np.where(b.rays < 0, n, b.rays).astype(np.int32)
    opp = b.opposite
    return dict(
        board=b,
        n=n,
        d=b.num_dirs,
        k=b.max_dist,
        h=b.max_height,
        rays_p=rays_p,
        opposite=opp,
        line_axes=np.asarray(b.line_axes, np.int32),
    )


def pad1(x, value):
    """Appends one sentinel entry (index N) to a per-cell array."""
    return jnp.concatenate([x, jnp.full((1,) + x.shape[1:], value, x.dtype)])


def top_and_cap(rings, height):
    """Controller (owner of the top ring, 0 if no stack) and cap height of every cell: ([N], [N]) int32.

    Gather-free (one-hot over the H levels), which XLA:CPU vectorizes well under vmap.
    """
    rings = rings.astype(jnp.int32)
    height = height.astype(jnp.int32)
    idx = jnp.arange(rings.shape[1])
    top = jnp.sum(jnp.where(idx[None, :] == (height - 1)[:, None], rings, 0), axis=1)
    ok = (rings == top[:, None]) | (idx[None, :] >= height[:, None])
    run = jnp.flip(jnp.cumprod(jnp.flip(ok, axis=1).astype(jnp.int32), axis=1), axis=1)
    cap = jnp.sum(run * (idx[None, :] < height[:, None]), axis=1)
    return top, jnp.where(height > 0, cap, 0)


def rings_of(rings, height, p: int):
    """Number of rings of each seat 1..p in every stack: int32 [N, p]."""
    del height
    r = rings.astype(jnp.int32)
    return jnp.stack([jnp.sum(r == s, axis=1) for s in range(1, p + 1)], axis=1)


def buried_of(rings, height, seat):
    """bool [N]: the stack holds a ring of `seat` below its top ring (a buried ring)."""
    r = rings.astype(jnp.int32)
    idx = jnp.arange(r.shape[1])
    below = idx[None, :] < (height.astype(jnp.int32)[:, None] - 1)
    return jnp.any((r == seat) & below, axis=1)


# ---- single-stack row operations (row: [H] owners bottom->top, h: scalar height) ----


def row_add_top(row, h, seat, n):
    """Adds n rings of `seat` on top (placement)."""
    idx = jnp.arange(row.shape[0])
    row = jnp.where((idx >= h) & (idx < h + n), seat, row.astype(jnp.int32))
    return row, h + n


def row_insert_bottom(row, h, seat):
    """Inserts one ring of `seat` at the bottom (captured ring)."""
    row = jnp.concatenate([jnp.asarray([seat], jnp.int32), row.astype(jnp.int32)[:-1]])
    return row, h + 1


def row_remove_top(row, h, k=1):
    """Removes the top k rings."""
    idx = jnp.arange(row.shape[0])
    nh = jnp.maximum(h - k, 0)
    return jnp.where(idx >= nh, 0, row.astype(jnp.int32)), nh


def row_extract_bottom_own(row, h, seat):
    """Removes the bottom-most ring of `seat`; returns (row, h, removed?). That ring is buried
    whenever the stack holds a buried ring of `seat`; it is the top ring only for the struck
    stack of a stack-strike (recovery.extraction_mask)."""
    row = row.astype(jnp.int32)
    idx = jnp.arange(row.shape[0])
    cand = (row == seat) & (idx < h)
    ok = jnp.any(cand)
    i = jnp.argmax(cand)
    shifted = jnp.concatenate([row[1:], jnp.zeros((1,), jnp.int32)])
    new = jnp.where(idx < i, row, shifted)
    return jnp.where(ok, new, row), jnp.where(ok, h - 1, h), ok


def row_cap(row, h):
    """Cap height of one row."""
    row = row.astype(jnp.int32)
    hmax = row.shape[0]
    idx = jnp.arange(hmax)
    top = row[jnp.maximum(h - 1, 0)]
    lv = h - 1 - idx
    same = (lv >= 0) & (row[jnp.clip(lv, 0, hmax - 1)] == top)
    return jnp.where(h > 0, jnp.sum(jnp.cumprod(same.astype(jnp.int32))), 0)


# ---- State-level helpers ----


def set_row(state, c, row, h):
    """Writes one cell's stack back into the state (int8 storage)."""
    return state.replace(
        rings=state.rings.at[c].set(row.astype(state.rings.dtype)),
        height=state.height.at[c].set(jnp.asarray(h).astype(state.height.dtype)),
    )


def credit(state, seat, n):
    """Credits n eliminated rings to `seat` (1-based)."""
    return state.replace(elim=state.elim.at[seat - 1].add(jnp.asarray(n, jnp.int32)))


def remove_top_at(state, c, seat, k=1):
    """Eliminates the top k rings of the stack at c, credited to `seat`."""
    h = state.height[c].astype(jnp.int32)
    k = jnp.minimum(jnp.asarray(k, jnp.int32), h)
    row, nh = row_remove_top(state.rings[c], h, k)
    return credit(set_row(state, c, row, nh), seat, k)


def remove_cap_at(state, c, seat):
    """Eliminates the whole cap of the stack at c, credited to `seat`."""
    h = state.height[c].astype(jnp.int32)
    return remove_top_at(state, c, seat, row_cap(state.rings[c], h))


def extract_at(state, c, seat):
    """Eliminates the bottom-most ring of `seat` in the stack at c (R113), credited to `seat`."""
    row, nh, ok = row_extract_bottom_own(state.rings[c], state.height[c].astype(jnp.int32), seat)
    return credit(set_row(state, c, row, nh), seat, ok.astype(jnp.int32))


def rings_anywhere(state, p: int):
    """bool [p]: the seat still owns a ring in hand or in any stack (R201 turn eligibility)."""
    on_board = jnp.sum(rings_of(state.rings, state.height, p), axis=0)
    return (state.hand + on_board) > 0
