"""Reference trace notation: state digests and move strings (traces/FORMAT.md).

Host-side helpers (numpy, python strings) used by the parity harness, the tests and
interop. Nothing here is jitted; the engine calls are made by the caller.

Digest (FORMAT.md "Digest") <-> State:

| key  | State field(s) |
|------|----------------|
| cp   | cur + 1; at game over the winner (winner + 1) |
| ph   | phase (PHASE_NAMES) |
| gs   | `completed` iff phase == GAME_OVER |
| w    | winner + 1 or `-` |
| H/E/T| hand / elim / terr, seat 1 first |
| S    | rings[:height] bottom -> top, one digit per ring |
| M/C  | marker / collapsed owners |
| mm   | must_move |
| ple  | pend_line |
| cc   | attack in phase chain_capture, and at game over (set only when a capture chain was continuing) |
| ca   | attack in phase capture |
| tb   | acted (always 0 at game over: the reference derives it from the history of an active turn) |
| rs   | turn_recovery |
| tp   | terr_region cells while pend_terr, else `-` |
| sw   | swapped |
| L    | lps_round / lps_first+1 / lps_seen+lps_actor as `1T2F` / lps_excl+1 / lps_count / lps_cons+1 |

Move strings: `action_to_moves` gives the reference string(s) of an action id in a state,
`legal_moves` the sorted legal set of a mask, `parse_move` the action-id sequence that
realises a reference move string.
"""

from __future__ import annotations

import re
from typing import Dict, List, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxzero.games import ringrift
from jaxzero.games.ringrift import actions
from jaxzero.games.ringrift.boards import Board, get_board
from jaxzero.games.ringrift.state import (
    CAPTURE,
    CHAIN,
    FORCED_ELIM,
    GAME_OVER,
    LINE,
    MOVE,
    PHASE_NAMES,
    RINGS_PER_PLAYER,
    TERRITORY,
    RulesConfig,
    State,
    empty_state,
)

DIGEST_KEYS = ("cp", "ph", "gs", "w", "H", "E", "T", "S", "M", "C", "mm", "ple", "cc", "ca", "tb", "rs", "tp", "sw", "L")


# ----------------------------------------------------------------------------------------
# host view of a state
# ----------------------------------------------------------------------------------------


def to_host(state: State) -> Dict[str, np.ndarray]:
    """All fields of one (unbatched) state as numpy arrays (one device transfer)."""
    return {k: np.asarray(v) for k, v in jax.device_get(dict(state.items())).items()}


def _h(state) -> Dict[str, np.ndarray]:
    return state if isinstance(state, dict) else to_host(state)


def _cells(board: Board, ids) -> str:
    return ";".join(board.cell_str(int(c)) for c in sorted(int(c) for c in ids))


def _seat(v) -> str:
    v = int(v)
    return "-" if v < 0 else str(v + 1)


# ----------------------------------------------------------------------------------------
# digest
# ----------------------------------------------------------------------------------------


def digest(cfg: RulesConfig, state) -> str:
    """The FORMAT.md digest string of one state (a State or a `to_host` dict)."""
    s = _h(state)
    b = get_board(cfg.board)
    phase = int(s["phase"])
    over = phase == GAME_OVER
    winner = int(s["winner"])
    cp = winner + 1 if (over and winner >= 0) else int(s["cur"]) + 1
    height = s["height"]
    rings = s["rings"]
    stacks = []
    for c in range(b.num_cells):
        h = int(height[c])
        if h > 0:
            stacks.append(f"{b.cell_str(c)}:{''.join(str(int(r)) for r in rings[c, :h])}")
    markers = [f"{b.cell_str(c)}:{int(o)}" for c, o in enumerate(s["marker"]) if o > 0]
    coll = [f"{b.cell_str(c)}:{int(o)}" for c, o in enumerate(s["collapsed"]) if o > 0]
    attack = int(s["attack"])
    cc = b.cell_str(attack) if attack >= 0 and phase in (CHAIN, GAME_OVER) else "-"
    ca = b.cell_str(attack) if attack >= 0 and phase == CAPTURE else "-"
    mm = int(s["must_move"])
    tp = _cells(b, np.nonzero(s["terr_region"])[0]) if bool(s["pend_terr"]) else "-"
    seen, actor = s["lps_seen"], s["lps_actor"]
    mask = "".join(f"{i + 1}{'T' if actor[i] else 'F'}" for i in range(len(seen)) if seen[i]) or "-"
    lps = f"{int(s['lps_round'])}/{_seat(s['lps_first'])}/{mask}/{_seat(s['lps_excl'])}/{int(s['lps_count'])}/{_seat(s['lps_cons'])}"
    fields = [
        ("cp", str(cp)),
        ("ph", PHASE_NAMES[phase]),
        ("gs", "completed" if over else "active"),
        ("w", _seat(winner)),
        ("H", "/".join(str(int(v)) for v in s["hand"])),
        ("E", "/".join(str(int(v)) for v in s["elim"])),
        ("T", "/".join(str(int(v)) for v in s["terr"])),
        ("S", ";".join(stacks)),
        ("M", ";".join(markers)),
        ("C", ";".join(coll)),
        ("mm", b.cell_str(mm) if mm >= 0 else "-"),
        ("ple", str(int(bool(s["pend_line"])))),
        ("cc", cc),
        ("ca", ca),
        ("tb", "0" if over else str(int(bool(s["acted"])))),
        ("rs", str(int(bool(s["turn_recovery"])))),
        ("tp", tp),
        ("sw", str(int(bool(s["swapped"])))),
        ("L", lps),
    ]
    return "|".join(f"{k}={v}" for k, v in fields)


def split_digest(d: str) -> Dict[str, str]:
    """key -> value of a digest string; ValueError naming the problem (keys, order)."""
    if not isinstance(d, str):
        raise ValueError(f"digest must be a string, got {type(d).__name__}")
    parts = d.split("|")
    out: Dict[str, str] = {}
    for i, p in enumerate(parts):
        if "=" not in p:
            raise ValueError(f"digest field {i} ({p!r}) has no '='")
        k, v = p.split("=", 1)
        if k in out:
            raise ValueError(f"digest field {k!r} appears twice")
        out[k] = v
    keys = tuple(out)
    if keys != DIGEST_KEYS:
        missing = [k for k in DIGEST_KEYS if k not in out]
        extra = [k for k in keys if k not in DIGEST_KEYS]
        if missing or extra:
            raise ValueError(f"digest fields: missing {missing}, unknown {extra}")
        raise ValueError(f"digest fields out of order: {keys}")
    return out


def diff_digests(mine: str, ref: str) -> List[str]:
    """Keys whose values differ between two digest strings (in digest order)."""
    a, b = split_digest(mine), split_digest(ref)
    return [k for k in DIGEST_KEYS if a[k] != b[k]]


def _int(field: str, v: str, lo=None, hi=None) -> int:
    try:
        x = int(v)
    except ValueError:
        raise ValueError(f"digest field {field}: {v!r} is not an integer") from None
    if (lo is not None and x < lo) or (hi is not None and x > hi):
        raise ValueError(f"digest field {field}: {x} outside [{lo}, {hi}]")
    return x


def _seat_or_none(field: str, v: str, p: int) -> int:
    return -1 if v == "-" else _int(field, v, 1, p) - 1


def _bool(field: str, v: str) -> bool:
    if v not in ("0", "1"):
        raise ValueError(f"digest field {field}: expected 0 or 1, got {v!r}")
    return v == "1"


def _cell(field: str, b: Board, v: str) -> int:
    try:
        return b.parse_cell(v)
    except ValueError as e:
        raise ValueError(f"digest field {field}: {e}") from None


def _cell_or_none(field: str, b: Board, v: str) -> int:
    return -1 if v == "-" else _cell(field, b, v)


def _per_seat(field: str, v: str, p: int) -> List[int]:
    vals = v.split("/")
    if len(vals) != p:
        raise ValueError(f"digest field {field}: {len(vals)} values for {p} players")
    return [_int(field, x, 0) for x in vals]


def _cell_map(field: str, b: Board, v: str) -> Dict[int, str]:
    out: Dict[int, str] = {}
    if v == "":
        return out
    for item in v.split(";"):
        if ":" not in item:
            raise ValueError(f"digest field {field}: entry {item!r} has no ':'")
        cs, val = item.rsplit(":", 1)
        c = _cell(field, b, cs)
        if c in out:
            raise ValueError(f"digest field {field}: cell {cs} listed twice")
        out[c] = val
    return out


def out_turn_of(hand, rings, p: int) -> np.ndarray:
    """int32 [p] `out_turn`: -1 (still in the game) for seats with a ring in hand or on the board, else 0."""
    has_ring = (np.asarray(hand) > 0) | np.array([(rings == s + 1).any() for s in range(p)])
    return np.where(has_ring, -1, 0).astype(np.int32)


def _digest_status(d: Dict[str, str], p: int):
    """(phase, over, cp, winner) of the `ph`, `gs`, `cp` and `w` fields, checked to agree."""
    if d["ph"] not in PHASE_NAMES:
        raise ValueError(f"digest field ph: unknown phase {d['ph']!r}")
    phase = PHASE_NAMES.index(d["ph"])
    over = phase == GAME_OVER
    if d["gs"] not in ("active", "completed"):
        raise ValueError(f"digest field gs: unknown status {d['gs']!r}")
    if (d["gs"] == "completed") != over:
        raise ValueError(f"digest field gs: status {d['gs']!r} inconsistent with phase {d['ph']!r}")
    cp = _int("cp", d["cp"], 1, p) - 1
    winner = _seat_or_none("w", d["w"], p)
    if over and winner >= 0 and cp != winner:
        raise ValueError(f"digest field cp: at game over cp ({cp + 1}) must be the winner ({winner + 1})")
    return phase, over, cp, winner


def _digest_board(d: Dict[str, str], b: Board, p: int):
    """(rings, height, marker, collapsed) numpy arrays of the `S`, `M` and `C` fields."""
    n, hmax = b.num_cells, b.max_height
    rings = np.zeros((n, hmax), np.int8)
    height = np.zeros((n,), np.int8)
    for c, val in _cell_map("S", b, d["S"]).items():
        if not val or not val.isdigit():
            raise ValueError(f"digest field S: stack {b.cell_str(c)} has rings {val!r}")
        if len(val) > hmax:
            raise ValueError(f"digest field S: stack {b.cell_str(c)} height {len(val)} exceeds {hmax}")
        owners = [int(ch) for ch in val]
        if any(o < 1 or o > p for o in owners):
            raise ValueError(f"digest field S: stack {b.cell_str(c)} has a ring of a seat outside 1..{p}")
        rings[c, : len(owners)] = owners
        height[c] = len(owners)
    marker = np.zeros((n,), np.int8)
    for c, val in _cell_map("M", b, d["M"]).items():
        marker[c] = _int("M", val, 1, p)
        if height[c]:
            raise ValueError(f"digest field M: cell {b.cell_str(c)} holds both a stack and a marker")
    collapsed = np.zeros((n,), np.int8)
    for c, val in _cell_map("C", b, d["C"]).items():
        collapsed[c] = _int("C", val, 1, p)
        if height[c] or marker[c]:
            raise ValueError(f"digest field C: collapsed cell {b.cell_str(c)} also holds a stack or marker")
    return rings, height, marker, collapsed


def _digest_turn(d: Dict[str, str], b: Board, phase: int) -> Dict[str, np.ndarray]:
    """The turn-state fields of `mm`, `ple`, `cc`/`ca`, `tb`, `rs`, `tp` and `sw`."""
    mm = _cell_or_none("mm", b, d["mm"])
    ple = _bool("ple", d["ple"])
    cc = _cell_or_none("cc", b, d["cc"])
    ca = _cell_or_none("ca", b, d["ca"])
    if cc >= 0 and phase not in (CHAIN, GAME_OVER):
        raise ValueError(f"digest field cc: set in phase {d['ph']}")
    if ca >= 0 and phase != CAPTURE:
        raise ValueError(f"digest field ca: set in phase {d['ph']}")
    tb = _bool("tb", d["tb"])
    rs = _bool("rs", d["rs"])
    region = np.zeros((b.num_cells,), bool)
    pend_terr = d["tp"] != "-"
    if pend_terr:
        if d["tp"] == "":
            raise ValueError("digest field tp: empty region")
        for cs in d["tp"].split(";"):
            region[_cell("tp", b, cs)] = True
    sw = _bool("sw", d["sw"])
    i32 = np.int32
    return dict(
        must_move=i32(mm),
        attack=i32(cc if cc >= 0 else ca),
        acted=np.bool_(tb),
        turn_recovery=np.bool_(rs),
        pend_line=np.bool_(ple),
        pend_terr=np.bool_(pend_terr),
        terr_region=region,
        swapped=np.bool_(sw),
    )


def _digest_lps(v: str, p: int) -> Dict[str, np.ndarray]:
    """The last-player-standing fields of the `L` field (`round/first/seen+actor/excl/count/cons`)."""
    lp = v.split("/")
    if len(lp) != 6:
        raise ValueError(f"digest field L: expected 6 '/'-separated values, got {len(lp)}")
    lps_round = _int("L", lp[0], 0)
    lps_first = _seat_or_none("L", lp[1], p)
    seen = np.zeros((p,), bool)
    actor = np.zeros((p,), bool)
    if lp[2] != "-":
        items = re.findall(r"(\d+)([TF])", lp[2])
        if "".join(s + t for s, t in items) != lp[2]:
            raise ValueError(f"digest field L: malformed actor mask {lp[2]!r}")
        for s_, t in items:
            i = _int("L", s_, 1, p) - 1
            seen[i] = True
            actor[i] = t == "T"
    i32 = np.int32
    return dict(
        lps_round=i32(lps_round),
        lps_first=i32(lps_first),
        lps_seen=seen,
        lps_actor=actor,
        lps_excl=i32(_seat_or_none("L", lp[3], p)),
        lps_count=i32(_int("L", lp[4], 0)),
        lps_cons=i32(_seat_or_none("L", lp[5], p)),
    )


def host_state_from_digest(
    board_name: str,
    cfg: RulesConfig,
    digest_str: str,
    *,
    move_count: int = 0,
    victory_threshold: int | None = None,
    territory_minimum: int | None = None,
) -> Dict[str, np.ndarray]:
    """`state_from_digest` as a host dict of numpy arrays (no device work)."""
    if board_name != cfg.board:
        raise ValueError(f"board {board_name!r} does not match cfg.board {cfg.board!r}")
    b = get_board(board_name)
    p = cfg.num_players
    d = split_digest(digest_str)
    phase, over, cp, winner = _digest_status(d, p)
    hand = _per_seat("H", d["H"], p)
    elim = _per_seat("E", d["E"], p)
    terr = _per_seat("T", d["T"], p)
    rings, height, marker, collapsed = _digest_board(d, b, p)
    turn = _digest_turn(d, b, phase)
    lps = _digest_lps(d["L"], p)
    sw = bool(turn["swapped"])
    i32 = np.int32
    return dict(
        rings=rings,
        height=height,
        marker=marker,
        collapsed=collapsed,
        hand=np.asarray(hand, i32),
        elim=np.asarray(elim, i32),
        terr=np.asarray(terr, i32),
        out_turn=out_turn_of(hand, rings, p),
        cur=i32(cp),
        phase=i32(phase),
        must_move=turn["must_move"],
        attack=turn["attack"],
        acted=turn["acted"],
        turn_recovery=turn["turn_recovery"],
        pend_line=turn["pend_line"],
        pend_terr=turn["pend_terr"],
        terr_region=turn["terr_region"],
        pend_extract=np.bool_(False),
        pend_rec_line=np.bool_(False),
        rec_line=np.zeros((b.num_cells,), bool),
        rec_axis=i32(-1),
        swapped=turn["swapped"],
        swap_window=np.bool_(cfg.swap_rule and p == 2 and not sw and hand[1] == RINGS_PER_PLAYER),
        **lps,
        move_count=i32(move_count),
        turn_count=i32(0),
        last_actor=i32(cp),
        winner=i32(winner),
        victory_threshold=i32(cfg.victory_threshold if victory_threshold is None else victory_threshold),
        territory_minimum=i32(cfg.territory_minimum if territory_minimum is None else territory_minimum),
        current_player=i32(cp),
        terminated=np.bool_(over),
    )


def state_from_digest(board_name: str, cfg: RulesConfig, digest_str: str, **options) -> State:
    """The State a digest describes; ValueError naming the field for malformed input.

    Fields a digest does not carry get neutral values: move_count (argument), turn_count 0,
    last_actor = the seat to move, out_turn 0 for seats without any ring (else -1),
    pend_extract / pend_rec_line False, thresholds from cfg unless given, ranks/rewards
    zero, swap_window = pie rule on, 2 players, not swapped and seat 2 still holds all its
    rings in hand. The legal mask is left all-False (call the engine's legal_mask).
    ``options``: `host_state_from_digest`'s (move_count, victory_threshold, territory_minimum).
    """
    return from_host(cfg, host_state_from_digest(board_name, cfg, digest_str, **options))


def from_host(cfg: RulesConfig, h: Dict[str, np.ndarray]) -> State:
    """A State from a (possibly partial) host dict: missing fields come from empty_state,
    every given field is cast to the dtype and shape of empty_state's."""
    base = empty_state(cfg)
    upd = {}
    for k, v in h.items():
        if k not in base:
            continue
        ref = base[k]
        arr = jnp.asarray(np.asarray(v), ref.dtype)
        if arr.shape != ref.shape:
            raise ValueError(f"field {k}: shape {arr.shape}, expected {ref.shape}")
        upd[k] = arr
    return base.replace(**upd)


# ----------------------------------------------------------------------------------------
# move strings
# ----------------------------------------------------------------------------------------

SPECIAL_STRINGS = ("skip_placement", "skip_capture", "skip_territory", "skip_recovery", "swap")
BOOKKEEPING_STRINGS = actions.BOOKKEEPING_NAMES


def _controls_stack(s, seat: int) -> bool:
    h = s["height"].astype(np.int64)
    tops = s["rings"][np.arange(len(h)), np.maximum(h - 1, 0)]
    return bool(((h > 0) & (tops == seat)).any())


def region_cells(cfg: RulesConfig, state, pass_: int, rep: int) -> List[int]:
    """Cells of the territory region (pass, rep) of the region block (host flood fill).

    pass 0..3: the component of cells that are neither collapsed nor a marker of seat
    pass+1; pass 4: the component of non-collapsed cells; both under territory adjacency.
    """
    s = _h(state)
    b = get_board(cfg.board)
    ok = s["collapsed"] == 0
    if pass_ < 4:
        ok = ok & (s["marker"] != pass_ + 1)
    if not ok[rep]:
        return []
    seen = {int(rep)}
    todo = [int(rep)]
    while todo:
        c = todo.pop()
        for nb in b.terr_nbrs[c]:
            nb = int(nb)
            if nb >= 0 and ok[nb] and nb not in seen:
                seen.add(nb)
                todo.append(nb)
    return sorted(seen)


def line_cells(cfg: RulesConfig, state, axis: int, c: int, seat: int | None = None) -> List[int]:
    """The maximal run of `seat`'s markers (default: the mover's) starting at c along a line axis."""
    s = _h(state)
    b = get_board(cfg.board)
    p = int(s["cur"]) + 1 if seat is None else seat
    d = int(b.line_axes[axis])
    if int(s["marker"][c]) != p:
        return []
    out = [c]
    for nxt in b.rays[c, d]:
        if nxt < 0 or int(s["marker"][nxt]) != p:
            break
        out.append(int(nxt))
    return out


def _line_start(b: Board, s, axis: int, c: int, p: int) -> int:
    back = int(b.opposite[int(b.line_axes[axis])])
    start = c
    for prv in b.rays[c, back]:
        if prv < 0 or int(s["marker"][prv]) != p:
            break
        start = int(prv)
    return start


def recovery_modes(cfg: RulesConfig, state, src: int, dst: int) -> List[str]:
    """Mode token(s) of the recovery slide src -> dst: `stack_strike`, `fallback`, or
    `line opt1` (plus `line opt2` when the completed line is overlength)."""
    s = _h(state)
    b = get_board(cfg.board)
    p = int(s["cur"]) + 1
    if int(s["height"][dst]) > 0:
        return ["stack_strike"]
    best = 1
    for d in b.line_axes:
        run = 1
        for dd in (int(d), int(b.opposite[int(d)])):
            for nxt in b.rays[dst, dd]:
                if nxt < 0 or nxt == src or int(s["marker"][nxt]) != p:
                    break
                run += 1
        best = max(best, run)
    if best < cfg.line_length:
        return ["fallback"]
    return ["line opt1"] + (["line opt2"] if best > cfg.line_length else [])


def action_to_moves(cfg: RulesConfig, state, action: int) -> List[str]:
    """The reference move string(s) that action id `action` stands for in `state`.

    Recovery slides are given without their extraction part (`recovery A>B MODE` /
    `recovery A>B line optK`): the reference offers a single extraction stack per slide
    (FORMAT.md quirks) while this engine asks for it as a separate target decision.
    Sub-decisions with no reference string of their own are given as `ext C`
    (a pending recovery extraction). Line kind 0 maps to both `process_line CELLS` and
    `line_option CELLS all`.
    """
    s = _h(state)
    b = get_board(cfg.board)
    lay = actions.layout_for(b)
    block, f = lay.decode(action)
    phase = int(s["phase"])
    p = int(s["cur"]) + 1
    cs = b.cell_str
    if block == actions.PLACE:
        c, count = f
        return [f"place {cs(c)} x{count}"]
    if block == actions.RAY:
        c, d, k = f
        ray = b.rays[c, d]
        if phase == MOVE and not _controls_stack(s, p):
            dst = int(ray[0])
            if k != 1 or dst < 0:
                return []
            return [f"recovery {cs(c)}>{cs(dst)} {m}" for m in recovery_modes(cfg, s, c, dst)]
        dst = int(ray[k - 1])
        if dst < 0:
            return []
        tgt = next((int(t) for t in ray[: k - 1] if int(s["height"][t]) > 0), -1)
        if tgt < 0:
            return [f"move {cs(c)}>{cs(dst)}"]
        word = "chain" if phase == CHAIN else "capture"
        return [f"{word} {cs(c)}x{cs(tgt)}>{cs(dst)}"]
    if block == actions.LINE:
        axis, c, kind = f
        if phase == MOVE:  # recovery Option 1/2 sub-decision (pend_rec_line)
            if kind == 0:
                return ["rec_option opt1"]
            seg = line_cells(cfg, s, axis, c, p)[: cfg.line_length]
            return [f"rec_option opt2 collapse {_cells(b, seg)}"]
        if kind == 0:
            cells = _cells(b, line_cells(cfg, s, axis, c, p))
            return [f"process_line {cells}", f"line_option {cells} all"]
        start = _line_start(b, s, axis, c, p)
        whole = line_cells(cfg, s, axis, start, p)
        seg = whole[whole.index(c) : whole.index(c) + cfg.line_length] if c in whole else []
        return [f"line_option {_cells(b, whole)} seg {_cells(b, seg)}"]
    if block == actions.REGION:
        pass_, rep = f
        return [f"territory {_cells(b, region_cells(cfg, s, pass_, rep))}"]
    if block == actions.TARGET:
        (c,) = f
        if phase == LINE:
            return [f"elim {cs(c)} line"]
        if phase == TERRITORY:
            return [f"elim {cs(c)} {'recovery' if bool(s['turn_recovery']) else 'territory'}"]
        if phase == FORCED_ELIM:
            return [f"forced_elim {cs(c)}"]
        return [f"ext {cs(c)}"]
    if block == actions.SPECIAL:
        return [SPECIAL_STRINGS[f[0]]]
    return [BOOKKEEPING_STRINGS[f[0]]]


def legal_ids(mask) -> List[int]:
    """Action ids set in a legal mask (host)."""
    return [int(i) for i in np.flatnonzero(np.asarray(mask))]


def legal_move_map(cfg: RulesConfig, state, mask) -> Dict[str, int]:
    """string -> action id for every legal action of a mask (recovery strings in prefix form)."""
    s = _h(state)
    out: Dict[str, int] = {}
    for a in legal_ids(mask):
        for m in action_to_moves(cfg, s, a):
            out.setdefault(m, a)
    return out


def legal_moves(cfg: RulesConfig, state, mask) -> List[str]:
    """The sorted reference strings of the legal set `mask` in `state` (comparable with a
    trace step's `legal` after `compare_key`)."""
    return sorted(legal_move_map(cfg, state, mask))


def compare_key(move: str) -> str:
    """The part of a reference move string the parity comparison uses: recovery moves are
    cut to `recovery A>B MODE` / `recovery A>B line optK` (FORMAT.md quirks); every other
    move string is returned unchanged."""
    if move.startswith("recovery "):
        t = move.split()
        return " ".join(t[:4] if len(t) > 3 and t[2] == "line" else t[:3])
    return move


_CELL = r"-?\d+(?:,-?\d+)+"
_PATTERNS = [
    (re.compile(rf"^place ({_CELL}) x([123])$"), "place"),
    (re.compile(rf"^move ({_CELL})>({_CELL})$"), "move"),
    (re.compile(rf"^(capture|chain) ({_CELL})x({_CELL})>({_CELL})$"), "capture"),
    (re.compile(rf"^process_line ({_CELL}(?:;{_CELL})*)$"), "line"),
    (re.compile(rf"^line_option ({_CELL}(?:;{_CELL})*) all$"), "line"),
    (re.compile(rf"^line_option ({_CELL}(?:;{_CELL})*) seg ({_CELL}(?:;{_CELL})*)$"), "seg"),
    (re.compile(rf"^elim ({_CELL}) (line|territory|recovery)$"), "elim"),
    (re.compile(rf"^forced_elim ({_CELL})$"), "fe"),
    (re.compile(rf"^territory ({_CELL}(?:;{_CELL})*)$"), "territory"),
    (re.compile(rf"^recovery ({_CELL})>({_CELL}) (fallback|stack_strike|line opt1) ext ({_CELL}|-)$"), "recovery"),
    (re.compile(rf"^recovery ({_CELL})>({_CELL}) line opt2 collapse ({_CELL}(?:;{_CELL})*)$"), "recovery2"),
    (re.compile(r"^(skip_placement|skip_capture|skip_territory|skip_recovery|swap)$"), "special"),
    (re.compile(r"^(no_placement_action|no_movement_action|no_line_action|no_territory_action)$"), "bookkeep"),
]


def check_move_syntax(cfg: RulesConfig, move: str):
    """Parses a reference move string structurally. Returns (kind, groups) and raises
    ValueError naming the problem (unknown form, cell not on the board)."""
    if not isinstance(move, str):
        raise ValueError(f"move must be a string, got {type(move).__name__}")
    b = get_board(cfg.board)
    for pat, kind in _PATTERNS:
        m = pat.match(move)
        if m:
            for g in m.groups():
                if g is None or g == "-" or not re.fullmatch(rf"{_CELL}(?:;{_CELL})*", g):
                    continue
                for cell in g.split(";"):
                    try:
                        b.parse_cell(cell)
                    except ValueError as e:
                        raise ValueError(f"move {move!r}: {e}") from None
            return kind, m.groups()
    raise ValueError(f"malformed move string {move!r} (not a FORMAT.md move form)")


def _ray_between(b: Board, src: int, dst: int, move: str):
    for d in range(b.num_dirs):
        hit = np.flatnonzero(b.rays[src, d] == dst)
        if hit.size:
            return d, int(hit[0]) + 1
    raise ValueError(f"move {move!r}: {b.cell_str(dst)} is not on a straight ray from {b.cell_str(src)}")


def _line_axis_start(b: Board, cells: Sequence[int], move: str):
    """(axis, first cell along the axis) of a set of collinear adjacent cells."""
    cellset = set(cells)
    for a, d in enumerate(b.line_axes):
        back = int(b.opposite[int(d)])
        starts = [c for c in cells if int(b.rays[c, back, 0]) not in cellset]
        if len(starts) != 1:
            continue
        run = [starts[0]]
        for nxt in b.rays[starts[0], int(d)]:
            if int(nxt) not in cellset:
                break
            run.append(int(nxt))
        if len(run) == len(cellset):
            return a, starts[0]
    raise ValueError(f"move {move!r}: cells do not form a line along a line axis")


def encode_move(cfg: RulesConfig, state, move: str) -> int:
    """The action id a reference move string names, from its text and the board alone
    (no legality check; recovery strings give the slide id). Territory regions map to the
    lowest pass whose flood-fill component from the region's lowest cell is exactly the
    region. ValueError for malformed strings."""
    kind, g = check_move_syntax(cfg, move)
    b = get_board(cfg.board)
    lay = actions.layout_for(b)
    pc = b.parse_cell
    if kind == "place":
        return lay.place(pc(g[0]), int(g[1]))
    if kind == "move":
        src = pc(g[0])
        return lay.ray(src, *_ray_between(b, src, pc(g[1]), move))
    if kind == "capture":
        src = pc(g[1])
        return lay.ray(src, *_ray_between(b, src, pc(g[3]), move))
    if kind in ("recovery", "recovery2"):
        src = pc(g[0])
        d, k = _ray_between(b, src, pc(g[1]), move)
        if k != 1:
            raise ValueError(f"move {move!r}: a recovery slide moves to an adjacent cell")
        return lay.ray(src, d, 1)
    if kind == "line":
        cells = [pc(x) for x in g[0].split(";")]
        axis, start = _line_axis_start(b, cells, move)
        return lay.line(axis, start, 0)
    if kind == "seg":
        cells = [pc(x) for x in g[0].split(";")]
        seg = [pc(x) for x in g[1].split(";")]
        axis, _ = _line_axis_start(b, cells, move)
        axis2, start = _line_axis_start(b, seg, move)
        if axis2 != axis or not set(seg) <= set(cells):
            raise ValueError(f"move {move!r}: segment is not part of the line")
        return lay.line(axis, start, 1)
    if kind in ("elim", "fe"):
        return lay.target(pc(g[0]))
    if kind == "territory":
        cells = sorted(pc(x) for x in g[0].split(";"))
        for pass_ in range(actions.NUM_REGION_PASSES):
            if region_cells(cfg, state, pass_, cells[0]) == cells:
                return lay.region(pass_, cells[0])
        raise ValueError(f"move {move!r}: no territory component equals this region")
    if kind == "special":
        return lay.special(SPECIAL_STRINGS.index(g[0]))
    return lay.bookkeeping(BOOKKEEPING_STRINGS.index(g[0]))


def parse_move_first(cfg: RulesConfig, state, move: str, move_map: Dict[str, int]):
    """The first action id of a reference move and its possible follow-up sub-decisions.

    Returns (action_id, followups). followups (possibly empty) are, in order,
    ("rec_opt", kind, seg_cells) for a recovery line Option 1 (kind 0) / Option 2 (kind 1,
    the collapsed cells) and ("extract", K) for a recovery `ext K`; the caller resolves each
    with `resolve_followup` on the state reached so far (it applies only when the engine
    asks for that sub-decision). ValueError if the string is malformed or not legal.
    """
    kind, groups = check_move_syntax(cfg, move)
    b = get_board(cfg.board)
    key = compare_key(move)
    if key not in move_map:
        ph = PHASE_NAMES[int(_h(state)["phase"])]
        raise ValueError(f"move {move!r} is not legal here (phase {ph}, {len(move_map)} legal moves)")
    followups = []
    if kind == "recovery":
        if groups[2] == "line opt1":
            followups.append(("rec_opt", 0, None))
        if groups[3] != "-":
            followups.append(("extract", b.parse_cell(groups[3])))
    elif kind == "recovery2":
        followups.append(("rec_opt", 1, [b.parse_cell(x) for x in groups[2].split(";")]))
    return move_map[key], followups


def resolve_followup(cfg: RulesConfig, state, fu) -> int | None:
    """The action id of follow-up `fu` (see parse_move_first) if `state` asks for that
    sub-decision now, else None."""
    s = _h(state)
    b = get_board(cfg.board)
    lay = actions.layout_for(b)
    if fu[0] == "extract":
        return lay.target(fu[1]) if bool(s["pend_extract"]) else None
    if fu[0] == "rec_opt":
        if not bool(s.get("pend_rec_line", False)):
            return None
        axis = int(s["rec_axis"])
        cells = np.flatnonzero(s["rec_line"]) if fu[1] == 0 else np.asarray(fu[2])
        back = int(b.opposite[int(b.line_axes[axis])])
        cellset = set(int(c) for c in cells)
        start = next(int(c) for c in cells if int(b.rays[c, back, 0]) not in cellset)
        return lay.line(axis, start, fu[1])
    raise ValueError(f"unknown follow-up {fu!r}")


def parse_move(cfg: RulesConfig, state: State, move: str, mask=None, apply_fn=None) -> List[int]:
    """The action-id sequence that realises reference move `move` in `state`.

    Usually one id. `recovery A>B MODE ext K` gives [slide, target(K)] when the engine asks
    for the extraction separately (state.pend_extract after the slide), and a recovery
    line slide adds the Option 1/2 line id when the engine asks for it (pend_rec_line).
    `process_line X` and `line_option X all` give the same line id. mask defaults to the
    engine's legal mask of `state`; apply_fn to the engine's apply_move. ValueError for
    malformed strings and moves that are not legal.
    """
    check_move_syntax(cfg, move)
    eng = engine_fns(cfg)
    if mask is None:
        mask = eng.legal_mask(state)
    first, followups = parse_move_first(cfg, state, move, legal_move_map(cfg, state, mask))
    ids = [first]
    if not followups:
        return ids
    apply_fn = apply_fn or eng.apply_move
    cur = apply_fn(state, jnp.int32(first))
    for fu in followups:
        a = resolve_followup(cfg, cur, fu)
        if a is None:
            continue
        if not bool(np.asarray(eng.legal_mask(cur))[a]):
            raise ValueError(f"move {move!r}: sub-decision {fu[0]} (action {a}) is not legal")
        ids.append(a)
        cur = apply_fn(cur, jnp.int32(a))
    return ids


class _EngineFns:
    """The engine's legal_mask / apply_move jitted for one static config."""

    def __init__(self, cfg: RulesConfig):
        self.cfg = cfg
        self.legal_mask = jax.jit(lambda s: ringrift.legal_mask(cfg, s))
        self.apply_move = jax.jit(lambda s, a: ringrift.apply_move(cfg, s, a))
        self.batch_legal_mask = jax.jit(jax.vmap(lambda s: ringrift.legal_mask(cfg, s)))
        self.batch_apply = jax.jit(
            jax.vmap(lambda s, a, on: jax.tree.map(lambda x, y: jnp.where(on, x, y), ringrift.apply_move(cfg, s, a), s))
        )


_ENGINE: Dict[RulesConfig, _EngineFns] = {}


def engine_fns(cfg: RulesConfig) -> _EngineFns:
    """Cached jitted engine entry points for cfg (the engine's modules load on first use)."""
    if cfg not in _ENGINE:
        _ENGINE[cfg] = _EngineFns(cfg)
    return _ENGINE[cfg]
