"""Victory (R170-R173), last-player-standing round tracking (R172), ranking (R175-R178).

- `check_victory`: ring elimination, territory (R062 v2), early LPS (one stack controller, every
  other seat without any ring), structural stalemate (no stacks and nobody can place) with the
  tie-break ladder territory > eliminated (+hand) > markers > last actor > lowest seat.
- `lps_turn_start`: the reference's round tracking at the start of a turn (digest field L) and the
  round-based LPS win test.
- `ranks`: 1224 ranking, winner first, then collapsed cells, eliminated rings (+hand after a
  stalemate), own markers, permanent elimination (never > later > earlier).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxzero.games.ringrift.rules import stacks
from jaxzero.games.ringrift.rules.placement import bare_board_placement
from jaxzero.games.ringrift.state import (
    GAME_OVER,
    LPS,
    LPS_EARLY,
    RING_ELIMINATION,
    STALEMATE,
    TERRITORY_CONTROL,
)


def _first_true(x):
    return jnp.where(jnp.any(x), jnp.argmax(x), -1).astype(jnp.int32)


def territory_counts(state, p):
    return jnp.stack([jnp.sum(state.collapsed == s) for s in range(1, p + 1)]).astype(jnp.int32)


def marker_counts(state, p):
    return jnp.stack([jnp.sum(state.marker == s) for s in range(1, p + 1)]).astype(jnp.int32)


def ranks(state, winner, stalemate, p):
    """int32 [p]: 1224 ranks (winner 1; the rest by the R177 cascade, ties shared)."""
    terr = territory_counts(state, p)
    elim = state.elim + jnp.where(stalemate, state.hand, 0)
    mk = marker_counts(state, p)
    out = jnp.where(state.out_turn < 0, 1 << 20, state.out_turn)
    key = jnp.stack([terr, elim, mk, out], axis=1)  # [p, 4]
    seat = jnp.arange(p)

    def better(i, j):  # i strictly better than j (lexicographic)
        gt = key[i] > key[j]
        lt = key[i] < key[j]
        res = jnp.asarray(False)
        decided = jnp.asarray(False)
        for f in range(4):
            res = jnp.where(~decided & gt[f], True, res)
            decided = decided | gt[f] | lt[f]
        return res

    b = jnp.stack([jnp.stack([better(i, j) for j in range(p)]) for i in range(p)])  # b[i, j]
    is_w = seat == winner
    nonw_better = jnp.sum(b & ~is_w[:, None], axis=0)  # how many non-winners beat j
    r = 1 + (winner >= 0).astype(jnp.int32) + nonw_better
    return jnp.where(is_w, 1, r).astype(jnp.int32)


def end_game(state, winner, reason, p, stalemate=False):
    """Marks the game over with `winner` (0-based) and `reason`; fills ranks."""
    return state.replace(
        phase=jnp.asarray(GAME_OVER, jnp.int32),
        winner=jnp.asarray(winner, jnp.int32),
        reason=jnp.asarray(reason, jnp.int32),
        ranks=ranks(state, winner, jnp.asarray(stalemate), p),
        acted=jnp.asarray(False),
        pend_terr=jnp.asarray(False),
        terr_region=jnp.zeros_like(state.terr_region),
        turn_recovery=jnp.asarray(False),
    )


def check_victory(cfg, state, tb):
    """Applies the first end condition that holds (ring, territory, early LPS, stalemate)."""
    p = cfg.num_players
    active = state.phase != GAME_OVER
    # 1 ring elimination
    ring_w = _first_true(state.elim >= state.victory_threshold)
    # 2 territory
    terr = territory_counts(state, p)
    opp = jnp.sum(terr) - terr
    terr_w = _first_true((terr >= state.territory_minimum) & (terr > opp))
    # 3 early LPS
    ctrl = jnp.stack([jnp.any(tb.top == s) for s in range(1, p + 1)])
    anyr = stacks.rings_anywhere(state, p)
    one = jnp.sum(ctrl) == 1
    owner = jnp.argmax(ctrl)
    others_empty = ~jnp.any(anyr & (jnp.arange(p) != owner))
    early_w = jnp.where(one & others_empty, owner, -1).astype(jnp.int32)
    # 4 structural stalemate
    no_stacks = ~jnp.any(tb.stack)
    any_hand = jnp.any(state.hand > 0)
    can_place = any_hand & bare_board_placement(tb, state)
    stale = no_stacks & ~can_place
    hand_elim = any_hand
    elim2 = state.elim + jnp.where(hand_elim, state.hand, 0)
    mk = marker_counts(state, p)
    last = (jnp.arange(p) == state.last_actor).astype(jnp.int32)
    key = jnp.stack([terr, elim2, mk, last], axis=1)
    best = jnp.zeros((p,), bool).at[0].set(True)
    # lexicographic argmax (first seat among ties)
    alive = jnp.ones((p,), bool)
    for f in range(4):
        v = jnp.where(alive, key[:, f], -(1 << 30))
        alive = alive & (key[:, f] == jnp.max(v))
    del best
    stale_w = jnp.argmax(alive).astype(jnp.int32)

    w = jnp.where(ring_w >= 0, ring_w, jnp.where(terr_w >= 0, terr_w, jnp.where(early_w >= 0, early_w, jnp.where(stale, stale_w, -1))))
    reason = jnp.where(
        ring_w >= 0,
        RING_ELIMINATION,
        jnp.where(terr_w >= 0, TERRITORY_CONTROL, jnp.where(early_w >= 0, LPS_EARLY, STALEMATE)),
    )
    over = active & (w >= 0)
    ended = end_game(state, w, reason, p, stalemate=(reason == STALEMATE) & hand_elim)
    return _select(over, ended, state)


def _select(pred, a, b):
    return jax.tree_util.tree_map(lambda x, y: jnp.where(pred, x, y), a, b)


def lps_turn_start(cfg, state, real):
    """LPS round tracking for the seat now to move (`real`: bool [P] real-action availability of
    every seat at this point), then the round-based LPS win test (R172, reference semantics)."""
    p = cfg.num_players
    active = stacks.rings_anywhere(state, p)
    cur = state.cur
    cur_active = active[cur]
    first = state.lps_first
    first_active = jnp.where(first >= 0, active[jnp.maximum(first, 0)], False)
    new_cycle = (first < 0) | ~first_active
    cons = state.lps_cons
    cons_active = jnp.where(cons >= 0, active[jnp.maximum(cons, 0)], False)
    finalize = ~new_cycle & (cur == first) & jnp.any(state.lps_seen)
    true_players = active & state.lps_seen & state.lps_actor
    excl = jnp.where(jnp.sum(true_players) == 1, jnp.argmax(true_players), -1).astype(jnp.int32)

    # new cycle
    nc_count = jnp.where(cons_active, state.lps_count, 0)
    nc_cons = jnp.where(cons_active, cons, -1)
    # finalize
    fz_count = jnp.where(excl >= 0, jnp.where(excl == cons, state.lps_count + 1, 1), 0)
    fz_cons = jnp.where(excl >= 0, excl, -1)

    reset = new_cycle | finalize
    lps_round = state.lps_round + reset.astype(jnp.int32)
    lps_first = jnp.where(reset, cur, first)
    seen = jnp.where(reset, False, state.lps_seen)
    actor = jnp.where(reset, False, state.lps_actor)
    lps_excl = jnp.where(new_cycle, -1, jnp.where(finalize, excl, state.lps_excl))
    lps_count = jnp.where(new_cycle, nc_count, jnp.where(finalize, fz_count, state.lps_count))
    lps_cons = jnp.where(new_cycle, nc_cons, jnp.where(finalize, fz_cons, cons))
    seen = seen.at[cur].set(True)
    actor = actor.at[cur].set(real[cur])
    new = state.replace(
        lps_round=lps_round,
        lps_first=lps_first.astype(jnp.int32),
        lps_seen=seen,
        lps_actor=actor,
        lps_excl=lps_excl.astype(jnp.int32),
        lps_count=lps_count.astype(jnp.int32),
        lps_cons=lps_cons.astype(jnp.int32),
    )
    new = _select(cur_active, new, state)
    # win test
    others = (jnp.arange(p) != cur) & active & real
    win = (
        cur_active
        & (new.lps_count >= cfg.lps_rounds)
        & (new.lps_cons == cur)
        & real[cur]
        & ~jnp.any(others)
    )
    return _select(win & (state.phase != GAME_OVER), end_game(new, cur, LPS, p), new)
