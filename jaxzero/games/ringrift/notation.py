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
| cc   | attack in phase chain_capture, and at game over (the reference keeps the chain position) |
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

from jaxzero.games.ringrift import actions as A
from jaxzero.games.ringrift.boards import Board, get_board
from jaxzero.games.ringrift.state import (
    CAPTURE,
    CHAIN,
    FORCED_ELIM,
    GAME_OVER,
    LINE,
    MOVE,
    PHASE_NAMES,
    PLACE,
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


def state_from_digest(
    board_name: str,
    cfg: RulesConfig,
    digest_str: str,
    *,
    move_count: int = 0,
    victory_threshold: int | None = None,
    territory_minimum: int | None = None,
) -> State:
    """The State a digest describes; ValueError naming the field for malformed input.

    Fields a digest does not carry get neutral values: move_count (argument), turn_count 0,
    last_actor = the seat to move, out_turn 0 for seats without any ring (else -1),
    pend_extract False, thresholds from cfg unless given, ranks/rewards zero,
    swap_window = pie rule on, 2 players, not swapped and seat 2 still holds all its rings
    in hand. The legal mask is left all-False (call the engine's legal_mask).
    """
    if board_name != cfg.board:
        raise ValueError(f"board {board_name!r} does not match cfg.board {cfg.board!r}")
    b = get_board(board_name)
    p = cfg.num_players
    n, hmax = b.num_cells, b.max_height
    d = split_digest(digest_str)

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
    hand = _per_seat("H", d["H"], p)
    elim = _per_seat("E", d["E"], p)
    terr = _per_seat("T", d["T"], p)

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

    mm = _cell_or_none("mm", b, d["mm"])
    ple = _bool("ple", d["ple"])
    cc = _cell_or_none("cc", b, d["cc"])
    ca = _cell_or_none("ca", b, d["ca"])
    if cc >= 0 and phase not in (CHAIN, GAME_OVER):
        raise ValueError(f"digest field cc: set in phase {d['ph']}")
    if ca >= 0 and phase != CAPTURE:
        raise ValueError(f"digest field ca: set in phase {d['ph']}")
    attack = cc if cc >= 0 else ca
    tb = _bool("tb", d["tb"])
    rs = _bool("rs", d["rs"])
    region = np.zeros((n,), bool)
    pend_terr = d["tp"] != "-"
    if pend_terr:
        if d["tp"] == "":
            raise ValueError("digest field tp: empty region")
        for cs in d["tp"].split(";"):
            region[_cell("tp", b, cs)] = True
    sw = _bool("sw", d["sw"])

    lp = d["L"].split("/")
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
    lps_excl = _seat_or_none("L", lp[3], p)
    lps_count = _int("L", lp[4], 0)
    lps_cons = _seat_or_none("L", lp[5], p)

    has_ring = np.array(hand) > 0
    for s_ in range(p):
        has_ring[s_] |= bool((rings == s_ + 1).any())
    base = empty_state(cfg)
    i32 = lambda v: jnp.asarray(v, jnp.int32)  # noqa: E731
    return base.replace(
        rings=jnp.asarray(rings),
        height=jnp.asarray(height),
        marker=jnp.asarray(marker),
        collapsed=jnp.asarray(collapsed),
        hand=jnp.asarray(hand, jnp.int32),
        elim=jnp.asarray(elim, jnp.int32),
        terr=jnp.asarray(terr, jnp.int32),
        out_turn=jnp.asarray(np.where(has_ring, -1, 0), jnp.int32),
        cur=i32(cp),
        phase=i32(phase),
        must_move=i32(mm),
        attack=i32(attack),
        acted=jnp.asarray(tb),
        turn_recovery=jnp.asarray(rs),
        pend_line=jnp.asarray(ple),
        pend_terr=jnp.asarray(pend_terr),
        terr_region=jnp.asarray(region),
        pend_extract=jnp.asarray(False),
        swapped=jnp.asarray(sw),
        swap_window=jnp.asarray(bool(cfg.swap_rule and p == 2 and not sw and hand[1] == RINGS_PER_PLAYER)),
        lps_round=i32(lps_round),
        lps_first=i32(lps_first),
        lps_seen=jnp.asarray(seen),
        lps_actor=jnp.asarray(actor),
        lps_excl=i32(lps_excl),
        lps_count=i32(lps_count),
        lps_cons=i32(lps_cons),
        move_count=i32(move_count),
        last_actor=i32(cp),
        winner=i32(winner),
        victory_threshold=i32(cfg.victory_threshold if victory_threshold is None else victory_threshold),
        territory_minimum=i32(cfg.territory_minimum if territory_minimum is None else territory_minimum),
        current_player=i32(cp),
        terminated=jnp.asarray(over),
    )
