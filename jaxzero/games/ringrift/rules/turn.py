"""The phase machine: apply one move, bookkeeping, end of turn, rotation, and the step loop.

apply_move(cfg, state, action) applies exactly one decision (bookkeeping ids included) and the
phase transitions of RULES.md §1.4 as the reference traces show them:

  ring_placement --place / skip_placement / no_placement--> movement   (swap: stays)
  movement --move--> capture (if a capture exists from the landing) | line_processing
  movement/capture/chain --capture--> chain_capture (if one exists from the landing) | line_processing
  capture --skip_capture--> line_processing; movement --no_movement / skip_recovery / recovery--> line_processing
  line_processing: line choice -> stay while a reward is pending or lines remain, else "line done";
     elim (line reward) -> stay (the reference then wants no_line_action); no_line_action -> "line done"
  line done: territory_processing if a region is processable, else forced_elimination when the
     seat made no board-changing move this turn (tb) and controls a stack, else territory_processing
  territory_processing: region -> stay (elimination pending) ; elim -> stay if regions remain else
     "territory done"; skip_territory / no_territory_action -> "territory done"
  territory done: forced_elimination if !tb and the seat controls a stack, else end of turn
  forced_elimination --forced_elim--> end of turn

End of turn: rotate to the next seat that owns any ring (R201), reset per-turn fields, LPS round
tracking + the LPS win test at turn start. Victory (ring / territory / early LPS / stalemate) is
checked after every move in reference_compat mode (V1/V2) and at the end of each turn otherwise.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp

from jaxzero.games.ringrift import actions
from jaxzero.games.ringrift.rules import legal, movement, recovery, stacks, territory, victory
from jaxzero.games.ringrift.state import (
    CAPTURE,
    CHAIN,
    FORCED_ELIM,
    GAME_OVER,
    LINE,
    MOVE,
    PLACE,
    TERRITORY,
    State,
    empty_state,
)

# transition events produced by the appliers
EV_STAY, EV_TO_MOVE, EV_MOVED, EV_CAPTURED, EV_TO_LINE, EV_LINE_CHOICE, EV_LINE_DONE, EV_TERR_CHECK, EV_TERR_DONE, EV_END = range(10)


def _sel(pred, a, b):
    return jax.tree_util.tree_map(lambda x, y: jnp.where(pred, x, y), a, b)


def _i32(v):
    return jnp.asarray(v, jnp.int32)


def _decode(cfg, action):
    """(block, fields...) of a traced action id."""
    lay = legal.layout(cfg)
    g = stacks.geometry(cfg.board)
    n, nd, kk = g["n"], g["d"], g["k"]
    offs = jnp.asarray(lay.offsets, jnp.int32)
    block = jnp.sum(action >= offs).astype(jnp.int32) - 1
    r = action - offs[block]
    return block, r, (n, nd, kk)


# ---------------------------------------------------------------------------------------
# appliers: (cfg, state, r) -> (state, event); r = index inside the block
# ---------------------------------------------------------------------------------------


def _apply_place(cfg, state, r, tb):
    c = r // 3
    cnt = r % 3 + 1
    seat = state.cur + 1
    row, h = stacks.row_add_top(state.rings[c], state.height[c].astype(jnp.int32), seat, cnt)
    state = stacks.set_row(state, c, row, h)
    state = state.replace(
        hand=state.hand.at[state.cur].add(-cnt), must_move=_i32(c), acted=jnp.asarray(True)
    )
    if cfg.reference_compat:  # a new stack (not rings added to one) joins the dictionary's end
        state = state.replace(born=state.born.at[c].set(jnp.where(h == cnt, state.move_count + 1, state.born[c])))
    return state, _i32(EV_TO_MOVE)


def ray_board_effect(cfg, state, r, tb):
    """The board effects of RAY-block entry `r` for the seat to move: (is_recovery, the state
    after the recovery slide, the state after the move/capture, origin cell, landing cell,
    is_capture). Both results are computed (vmap-friendly); `is_recovery` picks one: a
    recovery slide is a movement-phase ray from an own marker while recovery-eligible."""
    g = tb.g
    nd, kk = g["d"], g["k"]
    cd = r // kk
    k = r % kk + 1
    c = cd // nd
    d = cd % nd
    seat = state.cur + 1
    is_rec = (state.phase == MOVE) & (state.marker[c] == seat) & recovery.eligible(state, tb, seat)
    rec_state = recovery.apply_slide(cfg, state, tb, c, d, seat)
    mv_state, land, is_cap = movement.apply_ray(cfg, state, tb, c, d, k, seat)
    return is_rec, rec_state, mv_state, c, land, is_cap


def _apply_ray(cfg, state, r, tb):
    is_rec, rec_state, mv_state, c, land, is_cap = ray_board_effect(cfg, state, r, tb)
    rec_ev = jnp.where(rec_state.pend_rec_line | rec_state.pend_extract, EV_STAY, EV_TO_LINE)
    mm = jnp.where(state.must_move == c, land, state.must_move)
    mv_state = mv_state.replace(must_move=mm.astype(jnp.int32), attack=land.astype(jnp.int32), acted=jnp.asarray(True))
    if cfg.reference_compat:  # the reference deletes the moving stack and re-inserts it at the landing
        mv_state = mv_state.replace(born=mv_state.born.at[land].set(state.move_count + 1))
    mv_ev = jnp.where(is_cap, EV_CAPTURED, EV_MOVED)
    return _sel(is_rec, rec_state, mv_state), jnp.where(is_rec, rec_ev, mv_ev).astype(jnp.int32)


def _apply_line(cfg, state, r, tb):
    g = tb.g
    n = g["n"]
    ac = r // 2
    kind = r % 2
    axis = ac // n
    cell = ac % n
    seat = state.cur + 1
    rec = recovery.apply_rec_line(cfg, state, axis, cell, kind, seat)
    rec_ev = jnp.where(rec.pend_extract, EV_STAY, EV_TO_LINE)
    ln = _apply_line_local(cfg, g, state, tb, axis, cell, kind, seat).replace(acted=jnp.asarray(True))
    is_rec = state.pend_rec_line
    return _sel(is_rec, rec, ln), jnp.where(is_rec, rec_ev, EV_LINE_CHOICE).astype(jnp.int32)


def _apply_line_local(cfg, g, state, tb, axis, cell, kind, seat):
    """lines.apply_line computed from the K cells along the chosen axis only (same semantics:
    kind 0 collapses the whole line starting at `cell`, kind 1 the line_length cells from it;
    the reward becomes pending iff kind 0 and the seat controls a stack)."""
    own_p = stacks.pad1(state.marker == seat, False)
    cells = recovery._along(g, cell, axis, g["k"])
    run = jnp.sum(jnp.cumprod(own_p[cells].astype(jnp.int32)))
    n = jnp.where(kind == 0, run, cfg.line_length)
    mask = recovery.segment(g, axis, cell, n)
    st = recovery.collapse_cells(state, mask, seat)
    return st.replace(pend_line=(kind == 0) & jnp.any(tb.top == seat))


def _apply_region(cfg, state, r, tb):
    g = tb.g
    n = g["n"]
    st = territory.apply_region(g["board"], cfg, state, r // n, r % n).replace(acted=jnp.asarray(True))
    return st, jnp.where(st.pend_terr, EV_STAY, EV_TERR_CHECK).astype(jnp.int32)


def _apply_target(cfg, state, r, tb):
    c = r
    seat = state.cur + 1
    ph = state.phase
    ext = stacks.extract_at(state, c, seat)
    top1 = stacks.remove_top_at(state, c, seat, 1)
    cap = stacks.remove_cap_at(state, c, seat)
    is_ext_rec = (ph == MOVE) & state.pend_extract
    is_line = (ph == LINE) & state.pend_line
    is_terr = (ph == TERRITORY) & state.pend_terr
    is_fe = ph == FORCED_ELIM
    terr_state = _sel(state.turn_recovery, ext, cap).replace(
        pend_terr=jnp.asarray(False), terr_region=jnp.zeros_like(state.terr_region)
    )
    out = _sel(is_ext_rec, ext.replace(pend_extract=jnp.asarray(False), rec_strike=_i32(-1)), state)
    out = _sel(is_line, top1.replace(pend_line=jnp.asarray(False)), out)
    out = _sel(is_terr, terr_state, out)
    out = _sel(is_fe, cap, out)
    out = out.replace(acted=jnp.asarray(True))
    ev = jnp.where(is_ext_rec, EV_TO_LINE, jnp.where(is_line, EV_STAY, jnp.where(is_terr, EV_TERR_CHECK, EV_END)))
    return out, ev.astype(jnp.int32)


def _apply_special(cfg, state, r, tb):
    swap = state.replace(swapped=jnp.asarray(True), swap_window=jnp.asarray(False), acted=jnp.asarray(True))
    ev = jnp.asarray([EV_TO_MOVE, EV_TO_LINE, EV_TERR_DONE, EV_TO_LINE, EV_STAY], jnp.int32)[r]
    return _sel(r == actions.SWAP, swap, state), ev


def _apply_bookkeep(cfg, state, r, tb):
    ev = jnp.asarray([EV_TO_MOVE, EV_TO_LINE, EV_LINE_DONE, EV_TERR_DONE], jnp.int32)[r]
    return state, ev


# ---------------------------------------------------------------------------------------
# transitions
# ---------------------------------------------------------------------------------------


def _rotate(cfg, state, tb):
    """End of turn: next seat owning any ring; per-turn reset; LPS tracking and LPS win test."""
    p = cfg.num_players
    anyr = stacks.rings_anywhere(state, p)
    order = (state.cur + 1 + jnp.arange(p)) % p
    ok = anyr[order]
    found = jnp.any(ok)
    nxt = jnp.where(found, order[jnp.argmax(ok)], state.cur)
    state = state.replace(
        cur=nxt.astype(jnp.int32),
        phase=_i32(PLACE),
        must_move=_i32(-1),
        attack=_i32(-1),
        acted=jnp.asarray(False),
        turn_recovery=jnp.asarray(False),
        pend_line=jnp.asarray(False),
        pend_terr=jnp.asarray(False),
        terr_region=jnp.zeros_like(state.terr_region),
        pend_extract=jnp.asarray(False),
        pend_rec_line=jnp.asarray(False),
        rec_line=jnp.zeros_like(state.rec_line),
        rec_axis=_i32(-1),
        rec_strike=_i32(-1),
        turn_count=state.turn_count + 1,
    )
    real = legal.real_actions(cfg, state, tb)
    st2 = victory.lps_turn_start(cfg, state, real)
    return _sel(found, st2, state)


def _transition(cfg, state, ev, tb, preds):
    """Applies the phase transition for event `ev` (after the board effects of the move);
    `tb` = the free-run tables of the board after the move."""
    seat = state.cur + 1
    has_stacks = jnp.any(tb.top == seat)
    has_line = jnp.any(preds[0])
    has_region = jnp.any(preds[1])
    cap_from_attack = tb.any_capture_from(jnp.maximum(state.attack, 0), seat) & (state.attack >= 0)
    no_act_fe = ~state.acted & has_stacks

    ph = state.phase
    # line done / territory done targets
    line_done_ph = jnp.where(has_region, TERRITORY, jnp.where(no_act_fe, FORCED_ELIM, TERRITORY))
    terr_done_end = ~no_act_fe
    terr_done_ph = jnp.where(no_act_fe, FORCED_ELIM, ph)

    new_ph = ph
    end = jnp.asarray(False)
    new_ph = jnp.where(ev == EV_TO_MOVE, MOVE, new_ph)
    new_ph = jnp.where(ev == EV_MOVED, jnp.where(cap_from_attack, CAPTURE, LINE), new_ph)
    new_ph = jnp.where(ev == EV_CAPTURED, jnp.where(cap_from_attack, CHAIN, LINE), new_ph)
    new_ph = jnp.where(ev == EV_TO_LINE, LINE, new_ph)
    line_more = state.pend_line | has_line
    new_ph = jnp.where(ev == EV_LINE_CHOICE, jnp.where(line_more, LINE, line_done_ph), new_ph)
    new_ph = jnp.where(ev == EV_LINE_DONE, line_done_ph, new_ph)
    terr_check_done = ~has_region
    new_ph = jnp.where((ev == EV_TERR_CHECK) & ~terr_check_done, TERRITORY, new_ph)
    is_terr_done = (ev == EV_TERR_DONE) | ((ev == EV_TERR_CHECK) & terr_check_done)
    new_ph = jnp.where(is_terr_done, terr_done_ph, new_ph)
    end = end | (is_terr_done & terr_done_end) | (ev == EV_END)

    to_line = (new_ph == LINE) & (ph != LINE)
    keep_attack = (new_ph == CAPTURE) | (new_ph == CHAIN)
    state = state.replace(
        phase=new_ph.astype(jnp.int32),
        must_move=jnp.where(to_line, -1, state.must_move).astype(jnp.int32),
        attack=jnp.where(keep_attack, state.attack, -1).astype(jnp.int32),
    )
    return state, end


def _victory(cfg, state, tb):
    return victory.check_victory(cfg, state, tb)


def _mark_out(cfg, state):
    """Records the turn at which a seat lost its last ring (ranking tie-break)."""
    anyr = stacks.rings_anywhere(state, cfg.num_players)
    return state.replace(out_turn=jnp.where((~anyr) & (state.out_turn < 0), state.turn_count, state.out_turn))


def _mutate(cfg, state, action):
    """The board effects of one move: (state, event, is_forced_elimination)."""
    action = jnp.asarray(action, jnp.int32)
    block, r, _ = _decode(cfg, action)
    tb = movement.Light(cfg, state)
    actor = state.cur
    # seat 2's swap window closes with its first non-swap move
    lay = legal.layout(cfg)
    is_swap = action == lay.special(actions.SWAP)
    state = state.replace(swap_window=state.swap_window & ~((state.cur == 1) & ~is_swap))
    branches = [_apply_place, _apply_ray, _apply_line, _apply_region, _apply_target, _apply_special, _apply_bookkeep]
    st, ev = jax.lax.switch(block, [lambda s, rr, f=f: f(cfg, s, rr, tb) for f in branches], state, r)
    st = st.replace(move_count=st.move_count + 1, last_actor=actor.astype(jnp.int32))
    st = _mark_out(cfg, st)
    is_fe = (block == actions.TARGET) & (state.phase == FORCED_ELIM)
    return st, ev, is_fe


def _settle(cfg, st, ev, is_fe, tb, preds):
    """Phase transition, end of turn and victory check after a move (tb: tables of st's board,
    preds: LG.seat_preds of st)."""
    nt, ended = _transition(cfg, st, ev, tb, preds)
    rot = _rotate(cfg, nt, tb)
    if cfg.reference_compat:
        # V1/V2: the reference checks victory after every move, after the phase transition but
        # before the rotation (a finished game does not rotate); forced elimination rotates first.
        vs = _victory(cfg, _sel(is_fe, rot, nt), tb)
        # a recovery slide and its extraction / line option are one reference move
        over = (vs.phase == GAME_OVER) & ~(nt.pend_extract | nt.pend_rec_line)
        # the reference's chain-capture position (digest cc) exists only while a capture chain
        # continues; a move_stack whose landing could capture ends the game with none
        vs = vs.replace(attack=jnp.where(nt.phase == CHAIN, vs.attack, -1).astype(jnp.int32))
    else:
        vs = _victory(cfg, nt, tb)
        over = ended & (vs.phase == GAME_OVER)
    return _sel(over, vs, _sel(ended, rot, nt))


def apply_move_tb(cfg, state: State, action):
    """apply_move, also returning the free-run tables of the resulting board and
    `pseat` = (line/region choices of the mover, its seat, the board's `legal.board_summary`);
    the choices are valid for the result while its seat is unchanged, the tables and the
    summary until the board changes."""
    st, ev, is_fe = _mutate(cfg, state, action)
    tb = movement.Tables(cfg, st)
    summ = legal.board_summary(cfg, st)
    preds = legal.seat_preds(cfg, st, tb, summ)
    return _settle(cfg, st, ev, is_fe, tb, preds), tb, (preds, st.cur, summ)


def apply_move(cfg, state: State, action) -> State:
    """Applies exactly one move `action` (bookkeeping ids included) for the seat to move.

    Includes the end-of-turn work when the move ends the turn (rotation, LPS at turn start) and
    the victory check (after every move in reference_compat mode, else at the end of a turn), so
    the result matches the reference digest after that step. The action is assumed legal.
    """
    chex.assert_rank(state.height, 1)
    return apply_move_tb(cfg, state, action)[0]


_BOOK_EV = (EV_TO_MOVE, EV_TO_LINE, EV_STAY, EV_STAY, EV_LINE_DONE, EV_TERR_DONE, EV_STAY, EV_STAY)


def _book_transition(cfg, state, tb, preds):
    """The phase's bookkeeping move without the end-of-turn work: (state, turn ended?)."""
    ev = jnp.asarray(_BOOK_EV, jnp.int32)[state.phase]
    st = state.replace(
        move_count=state.move_count + 1,
        last_actor=state.cur,
        swap_window=state.swap_window & (state.cur != 1),
    )
    return _transition(cfg, st, ev, tb, preds)


def _end_turn(cfg, state, tb):
    """End of a turn reached by bookkeeping moves (board unchanged since the last real move, so
    reference_compat has nothing new to detect; canonical checks victory at the end of a turn)."""
    rot = _rotate(cfg, state, tb)
    if cfg.reference_compat:
        return rot
    vs = _victory(cfg, state, tb)
    return _sel(vs.phase == GAME_OVER, vs, rot)


MAX_AUTO = 64
_UNROLL = 4  # bookkeeping moves of one seat between two rotations (placement, movement, line, territory)


def _running(cfg, st):
    return (st.phase != GAME_OVER) & (st.move_count < cfg.max_moves)


def _bookkeeping_loop(cfg, state, tb, pseat=None):
    """Applies bookkeeping moves until the seat to move has a decision (board unchanged).

    One iteration = the remaining bookkeeping moves of the current seat (unrolled, sharing its
    line/region choices) and at most one end of turn. `pseat` = (preds, seat they belong to,
    board summary) from the move just applied; stale choices are never used in line/territory
    processing (a new seat starts in ring_placement, where they do not matter), and the
    seat-independent board summary is computed once and reused by every iteration.
    Returns (state, fresh preds)."""
    if pseat is None:
        summ = legal.board_summary(cfg, state)
        pseat = (legal.seat_preds(cfg, state, tb, summ), state.cur, summ)
    summ = pseat[2]

    def stale_lt(st, seat):
        return (st.cur != seat) & ((st.phase == LINE) | (st.phase == TERRITORY))

    def cond(carry):
        st, preds, seat, i = carry
        need = ~legal.has_decision(cfg, st, tb, preds) | stale_lt(st, seat)
        return _running(cfg, st) & need & (i < MAX_AUTO)

    def body(carry):
        st, preds, seat, i = carry
        ended_any = jnp.asarray(False)
        for _ in range(_UNROLL):
            go = _running(cfg, st) & ~legal.has_decision(cfg, st, tb, preds) & ~ended_any & ~stale_lt(st, seat)
            nt, ended = _book_transition(cfg, st, tb, preds)
            st = _sel(go, nt, st)
            ended_any = ended_any | (go & ended)
        st = _sel(ended_any, _end_turn(cfg, st, tb), st)
        return st, legal.seat_preds(cfg, st, tb, summ), st.cur, i + 1

    st, preds, seat, _ = jax.lax.while_loop(cond, body, (state, pseat[0], pseat[1], jnp.asarray(0, jnp.int32)))
    return st, preds


def advance(cfg, state: State, tb=None, pseat=None) -> State:
    """Applies bookkeeping moves (and, with cfg.auto_single, forced single options) until a real
    decision or the game end; fills the protocol fields. `tb`: tables of state's board."""
    if tb is None:
        tb = movement.Tables(cfg, state)
    state, preds = _bookkeeping_loop(cfg, state, tb, pseat)
    mask = legal.interactive_mask(cfg, state, tb, preds)
    if cfg.auto_single:

        def cond(carry):
            st, m, i = carry
            return _running(cfg, st) & (jnp.sum(m) == 1) & (i < MAX_AUTO)

        def body(carry):
            st, m, i = carry
            st, tb2, ps2 = apply_move_tb(cfg, st, jnp.argmax(m).astype(jnp.int32))
            st, preds2 = _bookkeeping_loop(cfg, st, tb2, ps2)
            return st, legal.interactive_mask(cfg, st, tb2, preds2), i + 1

        state, mask, _ = jax.lax.while_loop(cond, body, (state, mask, jnp.asarray(0, jnp.int32)))
    return finish(cfg, state, mask)


def finish(cfg, state, mask):
    """Fills legal_action_mask, rewards, terminated, truncated, current_player."""
    p = cfg.num_players
    over = state.phase == GAME_OVER
    trunc = ~over & (state.move_count >= cfg.max_moves)
    r = state.ranks
    cnt = jnp.sum(r[None, :] == r[:, None], axis=1)
    pos = (r - 1).astype(jnp.float32) + (cnt - 1).astype(jnp.float32) / 2.0
    rew = 1.0 - 2.0 * pos / (p - 1)
    rew = jnp.where(over, rew, 0.0).astype(jnp.float32)
    return state.replace(
        legal_action_mask=mask & ~over & ~trunc,
        rewards=rew,
        terminated=over,
        truncated=trunc,
        current_player=state.cur.astype(jnp.int32),
    )


def step(cfg, state: State, action) -> State:
    """apply_move, then every bookkeeping move (and single-option decision if cfg.auto_single)
    until a real decision or the game end, then the protocol fields (per seat)."""
    chex.assert_rank(state.height, 1)
    already = (state.phase == GAME_OVER) | state.truncated
    st, tb, ps = apply_move_tb(cfg, state, action)
    new = advance(cfg, st, tb, ps)
    return _sel(already, state, new)


def init(cfg, key=None) -> State:
    """The initial position at the first decision: seat 1 placing (it always has placements, so
    no bookkeeping is needed and only the legal mask is computed)."""
    del key
    s = empty_state(cfg)
    return finish(cfg, s, legal.interactive_mask(cfg, s))
