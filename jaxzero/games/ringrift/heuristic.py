"""A RingRift heuristic on device: position evaluation and a one-ply greedy player.

Evaluation (`seat_scores`) gives every seat a score from features in the spirit of
RingRift's own heuristic: eliminated rings against the victory threshold, territory
against the territory minimum, controlled stacks and their caps, rings still in
play (in hand and on the board), own markers and line potential (markers with a
same-coloured neighbour along a line axis), buried rings (recovery material), and
victory proximity. `evaluate` turns the scores into one number for a seat: its
score minus the strongest opponent's (2 players: minus the opponent's).

The greedy player (`greedy_action`) scores every legal decision of the seat to move by the
mover's evaluation of the state the engine's `apply_move` gives (one move, no bookkeeping loop)
and picks the best; ties and an `epsilon` share of moves are broken at random. A decision that
ends the game in the mover's favour scores above everything else. `greedy_action_exhaustive` is
that definition written out (apply every packed legal id); the fast player gets the same values
far more cheaply: placements by a one-cell feature delta, moves and captures from the counts of
the few cells they change, recovery slides by a board-only apply, and only the few remaining
decisions (lines, regions, eliminations, skips, swap) through `apply_move`, in fixed-size passes of legal ids (more passes when more are legal).
"""

from __future__ import annotations

from typing import Callable, Mapping

import chex
import jax
import jax.numpy as jnp

from jaxzero.games.masks import uniform_legal
from jaxzero.games.ringrift.actions import layout_for
from jaxzero.games.ringrift.boards import get_board
from jaxzero.games.ringrift.rules import movement, recovery
from jaxzero.games.ringrift.rules.stacks import top_and_cap
from jaxzero.games.ringrift.rules.turn import apply_move, ray_board_effect
from jaxzero.games.ringrift.state import MOVE, RINGS_PER_PLAYER, RulesConfig, State

DEFAULT_WEIGHTS: Mapping[str, float] = {
    "eliminated": 4.0,  # credited eliminations / threshold
    "territory": 5.0,  # collapsed cells owned / territory minimum
    "stacks": 0.6,  # controlled stacks / 8
    "caps": 0.8,  # sum of controlled cap heights / 18
    "rings_in_play": 1.0,  # own rings in hand or on the board / 18
    "markers": 0.3,  # own markers / 16
    "line_potential": 0.6,  # own markers with an own neighbour along a line axis / 16
    "buried": 0.1,  # own rings buried under other tops / 18
}
WIN_SCORE = 1000.0


def weights_vector(weights: Mapping[str, float] | None = None) -> jax.Array:
    """The weights as a vector in DEFAULT_WEIGHTS order; unknown names are an error."""
    w = dict(DEFAULT_WEIGHTS)
    for k, v in (weights or {}).items():
        if k not in w:
            raise ValueError(f"unknown heuristic weight {k!r}; known: {sorted(w)}")
        w[k] = float(v)
    return jnp.asarray([w[k] for k in DEFAULT_WEIGHTS], jnp.float32)


def _cell_counts(seats, rings, height):
    """Per-cell integer counts int32 [M, P, 4] of rows `rings` [M, H] / `height` [M]: controlled
    stack (0/1), controlled cap height, own rings in the stack, own rings in it under a foreign top."""
    idx = jnp.arange(rings.shape[-1])
    present = idx[None, :] < height.astype(jnp.int32)[:, None]
    top, cap = top_and_cap(rings, height)
    ctrl = top[:, None] == seats[None, :]  # [M, P]
    on = jnp.sum((rings.astype(jnp.int32)[:, None, :] == seats[None, :, None]) & present[:, None, :], axis=2)
    return jnp.stack([ctrl, jnp.where(ctrl, cap[:, None], 0), on, jnp.where(ctrl, 0, on)], axis=2).astype(jnp.int32)


def _marker_counts(cfg, marker, seats):
    """(own markers [P], own markers with an own neighbour along a line axis [P]) int32."""
    b = get_board(cfg.board)
    mk = marker[None, :] == seats[:, None]  # [P, N]
    axes = jnp.asarray(b.line_axes)
    opp = jnp.asarray(b.opposite)[axes]
    nb = jnp.concatenate([jnp.asarray(b.move_nbrs)[:, axes], jnp.asarray(b.move_nbrs)[:, opp]], axis=1)  # [N, 2A]
    nb_marker = jnp.where(nb >= 0, marker[jnp.maximum(nb, 0)], 0)  # [N, 2A]
    paired = jnp.any(nb_marker[None] == seats[:, None, None], axis=2) & mk
    return mk.sum(1).astype(jnp.int32), paired.sum(1).astype(jnp.int32)


def _assemble(elim, terr, hand, cells, markers, paired):
    """The integer count matrix [P, F] (DEFAULT_WEIGHTS order) from its parts (cells: [P, 4] sums)."""
    stacks, caps, on_board, buried = cells[:, 0], cells[:, 1], cells[:, 2], cells[:, 3]
    return jnp.stack([elim, terr, stacks, caps, hand + on_board, markers, paired, buried], axis=1).astype(jnp.int32)


def seat_counts(cfg: RulesConfig, state: State) -> jax.Array:
    """Per-seat integer feature counts int32 [P, F] (absolute seats); `seat_features` normalises them."""
    b = get_board(cfg.board)
    chex.assert_shape(state.rings, (b.num_cells, b.max_height))
    seats = jnp.arange(1, cfg.num_players + 1)
    cells = _cell_counts(seats, state.rings, state.height).sum(0)
    mk, paired = _marker_counts(cfg, state.marker, seats)
    return _assemble(state.elim, state.terr, state.hand, cells, mk, paired)


def _normalise(counts: jax.Array, victory_threshold, territory_minimum) -> jax.Array:
    """Feature values float32 [..., P, F] from integer counts [..., P, F] (the same arithmetic for
    every caller, so equal counts give bitwise equal features)."""
    den = jnp.stack([
        jnp.maximum(victory_threshold, 1).astype(jnp.float32),
        jnp.maximum(territory_minimum, 1).astype(jnp.float32),
        jnp.float32(8.0),
        jnp.float32(RINGS_PER_PLAYER),
        jnp.float32(RINGS_PER_PLAYER),
        jnp.float32(16.0),
        jnp.float32(16.0),
        jnp.float32(RINGS_PER_PLAYER),
    ])
    return counts.astype(jnp.float32) / den


def seat_features(cfg: RulesConfig, state: State) -> jax.Array:
    """Per-seat feature matrix float32 [P, F] (F = len(DEFAULT_WEIGHTS), absolute seats)."""
    f = _normalise(seat_counts(cfg, state), state.victory_threshold, state.territory_minimum)
    chex.assert_shape(f, (cfg.num_players, len(DEFAULT_WEIGHTS)))
    return f


def _scores_from_counts(counts, victory_threshold, territory_minimum, weights):
    f = _normalise(counts, victory_threshold, territory_minimum)
    return jnp.sum(f * weights, axis=-1)


def seat_scores(cfg: RulesConfig, state: State, weights: jax.Array) -> jax.Array:
    """Weighted feature score per absolute seat, float32 [P]; a decided game scores +-WIN_SCORE."""
    p = cfg.num_players
    s = _scores_from_counts(seat_counts(cfg, state), state.victory_threshold, state.territory_minimum, weights)
    over = state.winner >= 0
    won = jnp.arange(p) == state.winner
    return jnp.where(over, jnp.where(won, WIN_SCORE, -WIN_SCORE), s)


def _relative(scores, seat):
    """scores[seat] minus the strongest other seat's score (scores [P])."""
    others = jnp.where(jnp.arange(scores.shape[-1]) == seat, -jnp.inf, scores)
    return scores[seat] - jnp.max(others)


def evaluate(cfg: RulesConfig, state: State, seat: jax.Array, weights: jax.Array) -> jax.Array:
    """Score of `seat` (0-based) minus the strongest opponent's score (a scalar)."""
    return _relative(seat_scores(cfg, state, weights), seat)


def mover_values(cfg: RulesConfig, state: State, weights: jax.Array, scale: float) -> jax.Array:
    """The evaluation as value estimates in [-1, 1], float32 [P] mover-relative (index 0 = the seat
    to move, i = the i-th seat after it, the order of the networks' values): ``tanh(scale * d_i)``
    with ``d_i`` seat i's score minus the strongest other seat's (`evaluate`); +-1 once decided.

    A search can mix these into its network's leaf values (`jaxzero.search.common.with_value_prior`):
    a hand-written evaluation that sees the material a weak value head misses. ``scale`` maps score
    differences to values (calibrated on heuristic games: BENCHMARKS.md, issue 18)."""
    p = cfg.num_players
    scores = seat_scores(cfg, state, weights)
    seats = (state.cur + jnp.arange(p)) % p  # engine seats from the mover's on (seat i XOR swap: 2p)
    v = jnp.tanh(scale * jax.vmap(lambda seat: _relative(scores, seat))(seats))
    chex.assert_shape(v, (p,))
    return v.astype(jnp.float32)


def max_legal(cfg: RulesConfig) -> int:
    """An upper bound on the number of legal decisions in any state (placements dominate)."""
    n = get_board(cfg.board).num_cells
    return 3 * n + 5


def _tie_noise(key, ids):
    """Tie-break noise in [0, 1e-4) that depends only on (key, action id): the same action gets the
    same noise whichever candidate slot or pass evaluates it (an integer hash, no RNG per action)."""
    salt = jax.random.bits(key, (), jnp.uint32)
    x = ids.astype(jnp.uint32) * jnp.uint32(0x9E3779B1) + salt
    x = (x ^ (x >> 16)) * jnp.uint32(0x7FEB352D)
    x = (x ^ (x >> 15)) * jnp.uint32(0x846CA68B)
    x = x ^ (x >> 16)
    return (x >> 8).astype(jnp.float32) * jnp.float32(1e-4 / (1 << 24))


def _default_apply(cfg):
    return lambda s, a: apply_move(cfg, s, a)  # noqa: E731


def _agent_seat(cfg, state, succ_swapped):
    """Seat the mover's agent holds after its move (the identity persists through a swap, 2p)."""
    mover = state.cur
    if cfg.num_players == 2:
        return jnp.where(succ_swapped != state.swapped, 1 - mover, mover)
    return jnp.broadcast_to(mover, jnp.shape(succ_swapped))


def _pick(state, key, mask, best_a, epsilon):
    k_eps, k_rand = jax.random.split(key)
    rand = uniform_legal(k_rand, mask)
    explore = jax.random.uniform(k_eps) < epsilon
    return jnp.where(explore, rand, best_a).astype(jnp.int32)


def greedy_action_exhaustive(
    cfg: RulesConfig,
    state: State,
    key: chex.PRNGKey,
    weights: jax.Array,
    epsilon: float = 0.0,
    apply_fn: Callable[[State, jax.Array], State] | None = None,
) -> jax.Array:
    """The reference one-ply greedy decision (slow): every legal action (packed into `max_legal`
    slots) applied with `apply_fn` (default: the engine's `apply_move`, one move without the
    bookkeeping loop) and evaluated for the mover. Same tie-break noise and epsilon draw as
    `greedy_action`, which must pick the same action; kept for tests and as the definition."""
    mask = state.legal_action_mask
    chex.assert_rank(mask, 1)
    k = max_legal(cfg)
    (cand,) = jnp.nonzero(mask, size=k, fill_value=0)
    valid = jnp.arange(k) < mask.sum()
    apply_fn = apply_fn or _default_apply(cfg)
    succ = jax.vmap(lambda a: apply_fn(state, a))(cand)
    seat = _agent_seat(cfg, state, succ.swapped)
    vals = jax.vmap(lambda s, st: evaluate(cfg, s, st, weights))(succ, seat)
    k_tie, k_rest = jax.random.split(key)
    best = jnp.argmax(jnp.where(valid, vals + _tie_noise(k_tie, cand), -jnp.inf))
    return _pick(state, k_rest, mask, cand[best], epsilon)


# ---------------------------------------------------------------------------------------
# the fast greedy: placements analytically, rays with a board-only apply, the rest in full
# ---------------------------------------------------------------------------------------

# candidate slots per pass (static); a state with more legal decisions of a kind takes more passes
# (exact for any count). Measured on 17,974 square8 2p states of uniformly random play (auto_single):
# legal ray ids per state median 2, 99th percentile 41, max 80; line/region/target/special ids
# median 1, 99th percentile 5, max 8. Under vmap a pass costs every game of the batch, so the
# number of passes follows the batch maximum.
RAY_SLOTS = {"square8": 48, "hex8": 48}
OTHER_SLOTS = 8
SLIDE_SLOTS = 8


def _slide_ids(cfg, state, tb):
    """bool [A]: the ray ids that are recovery slides here (movement phase, the mover is eligible,
    the id starts at one of its markers); every other legal ray id is a move or capture segment."""
    lay = layout_for(get_board(cfg.board))
    seat = state.cur + 1
    rec_cell = (state.phase == MOVE) & recovery.eligible(state, tb, seat) & (state.marker == seat)  # [N]
    ray = jnp.broadcast_to(rec_cell[:, None, None], (lay.num_cells, lay.num_dirs, lay.max_dist))
    a = lay.num_actions
    out = jnp.zeros((a,), bool)
    return out.at[lay.offsets[1]:lay.offsets[2]].set(ray.reshape(-1))


def _place_values(cfg, state, weights):
    """Values [3N] of every placement id for the mover (exact: a placement changes one cell and
    the mover's hand; it never ends the turn, so no victory test can fire)."""
    b = get_board(cfg.board)
    n, hmax, p = b.num_cells, b.max_height, cfg.num_players
    seats = jnp.arange(1, p + 1)
    mover = state.cur
    rings = state.rings.astype(jnp.int32)
    h = state.height.astype(jnp.int32)
    base_cells = _cell_counts(seats, rings, h)  # [N, P, 4]
    total = base_cells.sum(0)  # [P, 4]
    mk, paired = _marker_counts(cfg, state.marker, seats)
    cnt = jnp.arange(1, 4)
    idx = jnp.arange(hmax)
    new_rows = jnp.where((idx[None, None, :] >= h[:, None, None]) & (idx[None, None, :] < (h[:, None] + cnt[None, :])[:, :, None]),
                         mover + 1, rings[:, None, :])  # [N, 3, H]
    new_h = jnp.minimum(h[:, None] + cnt[None, :], hmax)  # [N, 3] (an overfull count is illegal anyway)
    new_cells = _cell_counts(seats, new_rows.reshape(n * 3, hmax), new_h.reshape(n * 3)).reshape(n, 3, p, 4)
    cells = total[None, None] + new_cells - base_cells[:, None]  # [N, 3, P, 4]
    hand = state.hand[None, :] - jnp.where(seats[None, :] == mover + 1, cnt[:, None], 0)  # [3, P]
    counts = jax.vmap(jax.vmap(lambda c, hd: _assemble(state.elim, state.terr, hd, c, mk, paired)), in_axes=(0, None))(cells, hand)
    sc = _scores_from_counts(counts, state.victory_threshold, state.territory_minimum, weights)  # [N, 3, P]
    return jax.vmap(lambda s: _relative(s, mover))(sc.reshape(n * 3, p))


def _ray_successor(cfg, state, tb, a):
    """The board after ray id `a` (a move, capture segment or recovery slide): the same board,
    hand, eliminated and territory counts as `apply_move`; rays never end a turn, so (canonical
    rules) apply_move's result has no winner either. Phase bookkeeping is not maintained."""
    is_rec, rec, mv, _, _, _ = ray_board_effect(cfg, state, a - _offsets(cfg)[1], tb)
    return jax.tree.map(lambda x, y: jnp.where(is_rec, x, y), rec, mv)


def _move_counts(cfg, state, tb, base_cells, a):
    """Value for the mover of the move or capture segment with ray id `a` (not a recovery slide),
    from the integer counts of the board `movement.apply_ray` produces, computed without building
    it: only the departure, target and landing cells change stacks; markers on the path flip or
    collapse (territory), the departure cell gets a marker, a landing marker is removed and costs
    the mover its top ring. `base_cells`: `_cell_counts` of the current board [N, P, 4]."""
    g = tb.g
    n, nd, kk, hmax = g["n"], g["d"], g["k"], g["h"]
    p = cfg.num_players
    seats = jnp.arange(1, p + 1)
    r = a - _offsets(cfg)[1]
    cd = r // kk
    k = r % kk + 1
    c = cd // nd
    d = cd % nd
    seat = state.cur + 1
    ray = tb.rays[c, d]  # [K], sentinel n off board
    blocked_p = jnp.concatenate([tb.stack | tb.coll, jnp.ones((1,), bool)])
    free = jnp.sum(jnp.cumprod((~blocked_p[ray]).astype(jnp.int32)))
    is_cap = k > free + 1
    land = ray[k - 1]
    tgt = ray[jnp.minimum(free, kk - 1)]
    j = jnp.arange(kk)
    inter = (j < k - 1) & ~(is_cap & (j == free))
    inter_cells = jnp.any((ray[:, None] == jnp.arange(n)[None, :]) & inter[:, None], axis=0)  # [N]
    m = state.marker.astype(jnp.int32)
    own = inter_cells & (m == seat)
    opp = inter_cells & (m > 0) & (m != seat)
    m = jnp.where(own, 0, jnp.where(opp, seat, m))
    m = jnp.where(jnp.arange(n) == c, seat, m)
    on_marker = m[land] > 0
    m = jnp.where(jnp.arange(n) == land, 0, m)
    # stacks: departure (emptied), target (top ring taken on a capture), landing (the mover)
    rings = state.rings.astype(jnp.int32)
    row, h = rings[c], tb.height[c]
    trow, th = rings[tgt], tb.height[tgt]
    idx = jnp.arange(hmax)
    captured = jnp.sum(jnp.where(idx == th - 1, trow, 0))
    crow = jnp.concatenate([captured[None], row[:-1]])
    row = jnp.where(is_cap, crow, row)
    h = h + is_cap.astype(jnp.int32)
    trow2 = jnp.where(idx >= th - 1, 0, trow)
    lrow = jnp.where(on_marker & (idx >= h - 1), 0, row)
    lh = h - on_marker.astype(jnp.int32)
    new_rows = jnp.stack([jnp.zeros_like(row), jnp.where(is_cap, trow2, trow), lrow])
    new_h = jnp.stack([jnp.int32(0), jnp.where(is_cap, th - 1, th), lh])
    changed = _cell_counts(seats, new_rows, new_h)  # [3, P, 4]
    old = jnp.stack([base_cells[c], base_cells[tgt], jnp.zeros_like(base_cells[land])])  # the landing cell held no stack
    cells = base_cells.sum(0) + jnp.sum(changed - old, axis=0)
    is_me = seats == seat
    mk, paired = _marker_counts(cfg, m, seats)
    return _assemble(state.elim + jnp.where(is_me, on_marker, 0), state.terr + jnp.where(is_me, jnp.sum(own), 0),
                     state.hand, cells, mk, paired)


def _offsets(cfg):
    return layout_for(get_board(cfg.board)).offsets


def _passes(mask, slots, key, eval_fn, carry0, values=None):
    """Evaluates the legal ids of `mask` in passes of `slots` candidates (a while loop: one pass
    when at most `slots` are legal) and returns the best (value + tie noise, id) over all, and
    `values` (float32 [A] or None) with every evaluated id's value (no noise) written in."""
    cs = jnp.cumsum(mask.astype(jnp.int32))
    total = cs[-1]
    j = jnp.arange(slots)

    def cond(c):
        return c[0] * slots < total

    def body(c):
        i, best_v, best_a, vals = c
        rank = i * slots + j
        ids = jnp.searchsorted(cs, rank + 1, side="left").astype(jnp.int32)
        ok = rank < total
        ids = jnp.where(ok, ids, 0)
        raw = eval_fn(ids)
        if vals is not None:  # unused slots write past the end (dropped)
            vals = vals.at[jnp.where(ok, ids, mask.shape[0])].set(raw, mode="drop")
        v = jnp.where(ok, raw + _tie_noise(key, ids), -jnp.inf)
        m = jnp.argmax(v)
        better = v[m] > best_v
        return i + 1, jnp.where(better, v[m], best_v), jnp.where(better, ids[m], best_a), vals

    _, best_v, best_a, values = jax.lax.while_loop(cond, body, (jnp.int32(0),) + carry0 + (values,))
    return (best_v, best_a), values


def greedy_action(
    cfg: RulesConfig,
    state: State,
    key: chex.PRNGKey,
    weights: jax.Array,
    epsilon: float = 0.0,
    apply_fn: Callable[[State, jax.Array], State] | None = None,
) -> jax.Array:
    """One-ply greedy decision for one game: int32 action id (vmap over games for a batch).

    Every legal decision is scored by the mover's evaluation (`evaluate`) of the state the
    engine's `apply_move` would produce (one move, no bookkeeping loop), the best is returned;
    ties are broken at random (noise < 1e-4 per action id) and with probability `epsilon` a
    uniformly random legal action is played instead. Cost is kept down by evaluating:
      - placements (3N ids) analytically: one cell and the hand change, features by delta;
      - moves and capture segments (ray ids) from the integer feature counts of the board
        `movement.apply_ray` gives, computed without building it (departure, target and landing
        stacks by delta, the path's markers); rays never end a turn, so no victory test applies;
        in passes of RAY_SLOTS legal ids;
      - recovery slides on a board-only apply (`recovery.apply_slide`), passes of SLIDE_SLOTS;
      - all other ids (line, region, target, special) with `apply_fn` (default apply_move), in
        passes of OTHER_SLOTS legal ids.
    A state with more legal ids of a kind than the slots takes further passes (a while loop), so
    every legal decision is always evaluated. Picks the same action as `greedy_action_exhaustive`.
    With `cfg.reference_compat` (victory after every move) every id takes the `apply_fn` path.
    """
    k_tie, k_rest = jax.random.split(key)
    best_a, _ = _scan_legal(cfg, state, k_tie, weights, apply_fn, record=False)
    return _pick(state, k_rest, state.legal_action_mask, best_a, epsilon)


def _scan_legal(cfg, state, k_tie, weights, apply_fn, record: bool):
    """`greedy_action`'s evaluation of every legal decision: ``(best id (tie noise k_tie), values)``,
    values float32 [A] (each legal id's evaluation for the mover, -inf elsewhere) when ``record``,
    else None."""
    mask = state.legal_action_mask
    chex.assert_rank(mask, 1)
    offs = _offsets(cfg)
    n_place, ray_end = offs[1], offs[2]
    ids = jnp.arange(mask.shape[0])
    fast = not cfg.reference_compat
    apply_fn = apply_fn or _default_apply(cfg)
    mover = state.cur
    best = (jnp.float32(-jnp.inf), jnp.int32(0))
    values = jnp.full(mask.shape, -jnp.inf, jnp.float32) if record else None
    if fast:
        raw_pv = _place_values(cfg, state, weights)
        if record:
            values = values.at[:n_place].set(jnp.where(mask[:n_place], raw_pv, -jnp.inf))
        pv = jnp.where(mask[:n_place], raw_pv + _tie_noise(k_tie, ids[:n_place]), -jnp.inf)
        pa = jnp.argmax(pv)
        best = (pv[pa], pa.astype(jnp.int32))
        tb = movement.Light(cfg, state)
        seats = jnp.arange(1, cfg.num_players + 1)
        base_cells = _cell_counts(seats, state.rings, state.height)

        def move_eval(a):
            counts = jax.vmap(lambda x: _move_counts(cfg, state, tb, base_cells, x))(a)
            sc = _scores_from_counts(counts, state.victory_threshold, state.territory_minimum, weights)
            return jax.vmap(lambda x: _relative(x, mover))(sc)

        def slide_eval(a):
            succ = jax.vmap(lambda x: _ray_successor(cfg, state, tb, x))(a)
            return jax.vmap(lambda s: evaluate(cfg, s, mover, weights))(succ)

        ray_mask = mask & (ids >= n_place) & (ids < ray_end)
        slide_mask = ray_mask & _slide_ids(cfg, state, tb)
        best, values = _passes(ray_mask & ~slide_mask, RAY_SLOTS[cfg.board], k_tie, move_eval, best, values)
        best, values = _passes(slide_mask, SLIDE_SLOTS, k_tie, slide_eval, best, values)
        other_mask = mask & (ids >= ray_end)
    else:
        other_mask = mask

    def full_eval(a):
        succ = jax.vmap(lambda x: apply_fn(state, x))(a)
        seat = _agent_seat(cfg, state, succ.swapped)
        return jax.vmap(lambda s, st: evaluate(cfg, s, st, weights))(succ, seat)

    (_, best_a), values = _passes(other_mask, OTHER_SLOTS if fast else max_legal(cfg), k_tie, full_eval, best,
                                  values)
    return best_a, values


def action_values(cfg: RulesConfig, state: State, weights: jax.Array,
                  apply_fn: Callable[[State, jax.Array], State] | None = None) -> jax.Array:
    """float32 [A]: every legal decision's one-ply value for the mover (the values `greedy_action`
    maximises, without its tie noise), -inf for illegal ids. One game; vmap over a batch."""
    values = _scan_legal(cfg, state, jax.random.PRNGKey(0), weights, apply_fn, record=True)[1]
    chex.assert_shape(values, state.legal_action_mask.shape)
    return values


def heuristic_policy(cfg: RulesConfig, state: State, weights: jax.Array, temperature: float,
                     apply_fn: Callable[[State, jax.Array], State] | None = None) -> jax.Array:
    """float32 [A], a distribution over the legal decisions from their one-ply values
    (`action_values`): ``softmax(values / temperature)``; ``temperature`` 0 spreads it evenly over
    the best-valued decisions (the ones `greedy_action` breaks ties between). A soft imitation
    target that carries the heuristic's ranking of every move, not just its pick. One game."""
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    v = action_values(cfg, state, weights, apply_fn)
    legal = state.legal_action_mask
    top = jnp.max(v)
    if temperature == 0:
        logits = jnp.where(legal & (v >= top - 1e-4), 0.0, -jnp.inf)  # within the tie noise
    else:
        logits = jnp.where(legal, (v - top) / temperature, -jnp.inf)
    return jax.nn.softmax(logits).astype(jnp.float32)


def heuristic_player(cfg: RulesConfig, weights=None, epsilon: float = 0.0):
    """A batched player `(states, key) -> actions` playing `greedy_action` in every game."""
    w = weights_vector(weights)

    def player(states, key):
        keys = jax.random.split(key, states.legal_action_mask.shape[0])
        return jax.vmap(lambda s, k: greedy_action(cfg, s, k, w, epsilon))(states, keys)

    return player
