"""The legal decision mask of the seat to move (the reference's legal-move surface).

`interactive_mask` lists the interactive decisions only; `legal_mask` adds, when there are none
and the game is on, the single bookkeeping id the reference host would synthesize.
"""

from __future__ import annotations

import chex
import jax.numpy as jnp

from jaxzero.games.ringrift import actions
from jaxzero.games.ringrift.rules import lines, placement, recovery, stacks, territory
from jaxzero.games.ringrift.rules.movement import Tables
from jaxzero.games.ringrift.state import CAPTURE, CHAIN, FORCED_ELIM, GAME_OVER, LINE, MOVE, PLACE, TERRITORY


def layout(cfg):
    return actions.layout_for(stacks.geometry(cfg.board)["board"])


def swap_legal(cfg, state):
    """Pie rule: seat 2's first decisions (placement/movement/capture phases), 2 players only."""
    if not (cfg.swap_rule and cfg.num_players == 2):
        return jnp.asarray(False)
    ph = state.phase
    return (
        state.swap_window
        & ~state.swapped
        & (state.cur == 1)
        & ((ph == PLACE) | (ph == MOVE) | (ph == CAPTURE) | (ph == CHAIN))
    )


def has_valid_actions(cfg, state, tb: Tables, seat):
    """Placement anywhere, movement/capture (must-move respected) or recovery (FE gate, F1)."""
    n = tb.g["n"]
    pl = placement.any_placement(cfg, state, tb, seat)
    mm = state.must_move
    allowed = jnp.where(mm >= 0, jnp.arange(n) == mm, True)
    mv = jnp.any((tb.top == seat) & allowed & (tb.any_move_cell | tb.any_cap_cell))
    return pl | mv | any_recovery(state, tb, seat)


def ray_block(tb: Tables, move_from, cap_from, rec):
    """bool [N, D, K] of the RAY block from per-(cell, direction) intervals of legal distances:
    moves k in [h, F] from cells `move_from`, captures k in [max(h, F + 2), F + 1 + G] (target cap
    <= own cap) from cells `cap_from`, recovery slides k = 1 where `rec` [N, D]."""
    h = tb.height[:, None]
    big = 1 << 10
    mlo = jnp.where(move_from[:, None], h, big)
    mhi = tb.F
    ok = tb.cap_ok & (tb.cap_t <= tb.cap[:, None]) & cap_from[:, None]
    clo = jnp.where(ok, jnp.maximum(h, tb.F + 2), big)
    chi = tb.F + 1 + tb.G
    rlo = jnp.where(rec, 1, big)
    k = tb.kr[None, None, :]
    e = lambda x: x[..., None]  # noqa: E731
    return ((k >= e(mlo)) & (k <= e(mhi))) | ((k >= e(clo)) & (k <= e(chi))) | (k == e(rlo))


def any_recovery(state, tb: Tables, seat):
    """Whether `seat` has a recovery slide (eligible and some own marker can slide or strike):
    a line-forming slide is itself an empty-cell slide, so no line test is needed."""
    n = tb.g["n"]
    dest = tb.rays[:, :, 0]
    occupied_p = stacks.pad1((state.marker > 0) | (state.collapsed > 0), True)
    ok = (state.marker == seat)[:, None] & (dest < n) & ~occupied_p[dest]
    return recovery.eligible(state, tb, seat) & jnp.any(ok)


def board_summary(cfg, state):
    """(line_summary [P, A, N, 2], region_summary): the seat-independent line and territory
    analysis of the board (the expensive part of `seat_preds`). It depends only on rings,
    heights, markers and collapsed cells, so one call serves every seat and phase until the
    board changes (the bookkeeping moves between two decisions never change it)."""
    b = stacks.geometry(cfg.board)["board"]
    return lines.line_summary(b, cfg, state), territory.region_summary(b, state)


def seat_preds(cfg, state, tb: Tables = None, summary=None):
    """(line_choices [A, N, 2], region_choices [5, N]) of the seat to move: the expensive
    per-seat parts, computed once and shared by the transition, the loop and the mask.
    `summary`: `board_summary(cfg, state)` of this board if already computed (then only a
    few elementwise ops remain)."""
    b = stacks.geometry(cfg.board)["board"]
    seat = state.cur + 1
    if summary is None:
        return lines.line_choices(b, cfg, state, seat), territory.region_choices(b, cfg, state, seat)
    return (
        lines.line_choices(b, cfg, state, seat, summary[0]),
        territory.region_choices(b, cfg, state, seat, summary[1]),
    )


def has_decision(cfg, state, tb: Tables, preds):
    """Whether the seat to move has any interactive decision (cheap given `preds`; no full mask)."""
    n = tb.g["n"]
    seat = state.cur + 1
    ph = state.phase
    own = tb.top == seat
    rec = any_recovery(state, tb, seat)
    place = (state.hand[state.cur] > 0) & (
        placement.any_placement(cfg, state, tb, seat) | placement.any_stack_can_act(cfg, tb, seat) | recovery.eligible(state, tb, seat)
    )
    mm = state.must_move
    allowed = jnp.where(mm >= 0, jnp.arange(n) == mm, True)
    move = jnp.any(own & allowed & (tb.any_move_cell | tb.any_cap_cell)) | rec | state.pend_extract | state.pend_rec_line
    line = state.pend_line | jnp.any(preds[0])
    terr = state.pend_terr | jnp.any(preds[1])
    swap = swap_legal(cfg, state)
    return jnp.where(
        ph == PLACE,
        place | swap,
        jnp.where(ph == MOVE, move | swap, jnp.where(ph == LINE, line, jnp.where(ph == TERRITORY, terr, ph != GAME_OVER))),
    )


def real_actions(cfg, state, tb: Tables):
    """bool [P]: every seat's real-action availability (placement, move, capture; R172)."""
    out = []
    for s in range(1, cfg.num_players + 1):
        pl = placement.any_placement(cfg, state, tb, s)
        own = tb.top == s
        mv = jnp.any(own & (tb.any_move_cell | tb.any_cap_cell))
        out.append(pl | mv)
    return jnp.stack(out)


def interactive_mask(cfg, state, tb: Tables = None, preds=None):
    """bool [A]: the interactive legal decisions of the seat to move (no bookkeeping ids)."""
    g = stacks.geometry(cfg.board)
    lay = layout(cfg)
    n = g["n"]
    if tb is None:
        tb = Tables(cfg, state)
    if preds is None:
        preds = seat_preds(cfg, state, tb)
    seat = state.cur + 1
    ph = state.phase
    over = ph == GAME_OVER

    # PLACE
    in_place = ph == PLACE
    place = placement.placement_mask(cfg, state, tb, seat) & in_place
    rec_mask, _, _ = recovery.slides(cfg, state, tb, seat)
    any_rec = jnp.any(rec_mask)
    skip_place = in_place & (state.hand[state.cur] > 0) & (
        placement.any_stack_can_act(cfg, tb, seat) | recovery.eligible(state, tb, seat)
    )

    # MOVE (no pending recovery sub-decision): moves + captures from the allowed stacks, slides
    in_move = ph == MOVE
    rec_pending = state.pend_rec_line | state.pend_extract
    move_free = in_move & ~rec_pending
    own = tb.top == seat
    mm = state.must_move
    allowed = jnp.where(mm >= 0, jnp.arange(n) == mm, True) & own & move_free
    skip_rec = move_free & any_rec
    # CAPTURE / CHAIN: captures from the attack cell only
    in_cap = (ph == CAPTURE) | (ph == CHAIN)
    from_att = (jnp.arange(n) == state.attack) & own & in_cap
    skip_cap = ph == CAPTURE
    rays_all = ray_block(tb, allowed, allowed | from_att, rec_mask & move_free)

    # LINE
    in_line = ph == LINE
    line = preds[0] & (in_line & ~state.pend_line)
    rec_line = recovery.rec_line_mask(cfg, state) & in_move
    line = line | rec_line

    # TERRITORY
    in_terr = ph == TERRITORY
    region = preds[1] & (in_terr & ~state.pend_terr)
    skip_terr = jnp.any(region)

    # targets
    controlled = tb.top == seat
    buried = stacks.buried_of(state.rings, state.height, seat)
    tgt_line = in_line & state.pend_line
    tgt_terr = in_terr & state.pend_terr
    tgt_ext = in_move & state.pend_extract & ~state.pend_rec_line
    in_fe = ph == FORCED_ELIM
    fe = controlled
    if cfg.reference_compat:
        first_only = has_valid_actions(cfg, state.replace(must_move=jnp.asarray(-1, jnp.int32)), tb, seat)
        # the host names the first eligible stack of the reference's stack dictionary, whose
        # order is the stacks' creation order (State.born; ties = loaded position: lowest cell)
        big = jnp.iinfo(jnp.int32).max
        first = jnp.arange(n) == jnp.argmin(jnp.where(controlled, state.born, big))
        fe = jnp.where(first_only, controlled & first, controlled)
    target = (
        (controlled & tgt_line)
        | (jnp.where(state.turn_recovery, buried, controlled) & tgt_terr)
        | (recovery.extraction_mask(state, seat) & tgt_ext)
        | (fe & in_fe)
    )

    special = jnp.stack([skip_place, skip_cap, skip_terr, skip_rec, swap_legal(cfg, state)])
    mask = lay.join(
        place,
        rays_all,
        line,
        region,
        target,
        special,
        jnp.zeros((4,), bool),
    )
    return mask & ~over


def bookkeeping_id(cfg, state):
    """The bookkeeping action the reference synthesizes in this phase (when nothing is legal)."""
    lay = layout(cfg)
    ph = state.phase
    which = jnp.where(
        ph == PLACE, actions.NO_PLACEMENT, jnp.where(ph == MOVE, actions.NO_MOVEMENT, jnp.where(ph == LINE, actions.NO_LINE, actions.NO_TERRITORY))
    )
    return lay.offsets[actions.BOOKKEEP] + which


def legal_mask(cfg, state):
    """bool [A]: the interactive legal decisions of the seat to move; when there are none (and
    the game is on) exactly the one bookkeeping id (`no_*_action`) the reference synthesizes."""
    chex.assert_rank(state.height, 1)
    m = interactive_mask(cfg, state)
    need = ~jnp.any(m) & (state.phase != GAME_OVER)
    return m | (need & (jnp.arange(m.shape[0]) == bookkeeping_id(cfg, state)))
