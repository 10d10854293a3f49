"""Ring placement (R080-R082), no-dead-placement in closed form, skip_placement eligibility.

A hypothetical stack placed at c changes only cell c, which lies behind every ray from c, so the
free-run tables of the current board decide it (RULES.md §2.3): count n is legal at c iff the new
stack (height h', cap c') has a move (some F[c, d] >= h') or a capture (target cap <= c', a free
landing beyond it, and F + 1 + G >= h').
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxzero.games.ringrift.rules.movement import Tables


def _alive(tb: Tables, h_new, cap_new):
    """bool [N]: a stack of height h_new / cap cap_new (per cell) placed at c has a move or capture."""
    mv = jnp.any(tb.F >= h_new[:, None], axis=1)
    cp = tb.has_t & (tb.cap_t <= cap_new[:, None]) & (tb.G >= 1) & (tb.F + 1 + tb.G >= h_new[:, None])
    return mv | jnp.any(cp, axis=1)


def placement_valid(cfg, state, tb: Tables, seat):
    """bool [N, 3]: count n = 1..3 at c is a legal placement for `seat` judged per count (R081/R082).

    Ignores the phase; checks hand, cell contents and no-dead-placement.
    """
    hand = state.hand[seat - 1]
    free = (state.marker == 0) & (state.collapsed == 0)
    empty = free & ~tb.stack
    on_stack = free & tb.stack
    cols = []
    for n in (1, 2, 3):
        hn = jnp.full_like(tb.height, n)
        ok_empty = empty & _alive(tb, hn, hn)
        if n == 1:
            cap_new = jnp.where(tb.top == seat, tb.cap + 1, 1)
            ok_stack = on_stack & _alive(tb, tb.height + 1, cap_new)
            ok = ok_empty | ok_stack
        else:
            ok = ok_empty
        cols.append(ok & (hand >= n))
    return jnp.stack(cols, axis=1)


def placement_mask(cfg, state, tb: Tables, seat):
    """bool [N, 3]: the legal place_ring decisions. Canonical: each count on its own.

    reference_compat (A1): counts 1..k where k is the largest valid count at the cell.
    """
    valid = placement_valid(cfg, state, tb, seat)
    if not cfg.reference_compat:
        return valid
    hand = state.hand[seat - 1]
    n = jnp.arange(1, 4)
    kmax = jnp.max(jnp.where(valid, n[None, :], 0), axis=1)
    free = (state.marker == 0) & (state.collapsed == 0)
    allowed = jnp.where(tb.stack[:, None], n[None, :] == 1, True) & free[:, None] & (n[None, :] <= hand)
    return allowed & (n[None, :] <= kmax[:, None])


def any_stack_can_act(cfg, tb: Tables, seat):
    """Some stack of `seat` has a move or capture (the skip_placement gate; A2 helper in compat)."""
    own = tb.top == seat
    mv = tb.a2_move_per_cell() if cfg.reference_compat else tb.any_move_per_cell()
    return jnp.any(own & (mv | tb.any_capture_per_cell()))


def bare_board_placement(tb: Tables, state):
    """Some empty cell would let a single new ring move (stalemate test on a board without stacks)."""
    free = (state.marker == 0) & (state.collapsed == 0) & ~tb.stack
    return jnp.any(free & jnp.any(tb.F >= 1, axis=1))
