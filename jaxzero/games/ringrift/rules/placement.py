"""Ring placement (R080-R082), no-dead-placement in closed form, skip_placement eligibility.

A hypothetical stack placed at c changes only cell c, which lies behind every ray from c, so the
free-run tables of the current board decide it (RULES.md §2.3): count n is legal at c iff the new
stack (height h', cap c') has a move (some F[c, d] >= h') or a capture (target cap <= c', a free
landing beyond it, and F + 1 + G >= h').
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxzero.games.ringrift.rules.movement import Tables


def placement_valid(cfg, state, tb: Tables, seat):
    """bool [N, 3]: count n = 1..3 at c is a legal placement for `seat` judged per count (R081/R082).

    Ignores the phase; checks hand, cell contents and no-dead-placement.
    """
    hand = state.hand[seat - 1]
    free = (state.marker == 0) & (state.collapsed == 0)
    empty = free & ~tb.stack
    on_stack = free & tb.stack
    pe = tb.place_empty
    own = tb.top == seat
    ps = jnp.where(own, tb.place_own, tb.place_foreign)
    n = jnp.arange(1, 4)
    ok = empty[:, None] & pe
    ok = ok.at[:, 0].set(ok[:, 0] | (on_stack & ps))
    return ok & (n[None, :] <= hand)


def any_placement(cfg, state, tb: Tables, seat):
    """Whether `seat` has any legal placement (union over counts; A1 does not change it)."""
    return jnp.any(placement_valid(cfg, state, tb, seat))


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
    mv = tb.a2_move_per_cell() if cfg.reference_compat else tb.any_move_cell
    return jnp.any(own & (mv | tb.any_capture_per_cell()))


def bare_board_placement(tb: Tables, state):
    """Some empty cell would let a single new ring move (stalemate test on a board without stacks)."""
    free = (state.marker == 0) & (state.collapsed == 0) & ~tb.stack
    return jnp.any(free & jnp.any(tb.F >= 1, axis=1))
