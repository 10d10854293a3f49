"""RingRift JSON interop: GameState import, Move conversion, canonical move export.

RingRift's JSON GameState (the TypeScript engine's shape, used by the contract vectors,
RULES.md §3.1) lists stack rings TOP-first; this engine stores them bottom -> top.
Thresholds come from the state (`victoryThreshold`, `territoryVictoryMinimum` or the legacy
`territoryVictoryThreshold`). `moveHistory` gives what a position alone does not: whether
`swap_sides` was played or may still be, whether the player to move already made a
board-changing move this turn (`acted`), whether that turn contained a recovery slide
(territory costs then use the recovery context), and the capture-phase attacker (the last
move's `to`).

Move conversion goes through the trace notation (notation.py): a RingRift Move dict is
written as its reference move string and realised with `notation.parse_move`, and an
exported game is the list of RingRift Move dicts (bookkeeping moves included) that the
action sequence stands for.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from jaxzero.games.ringrift import actions as action_space
from jaxzero.games.ringrift.boards import BOARD_NAMES, Board, get_board
from jaxzero.games.ringrift.parity import notation
from jaxzero.games.ringrift.state import (
    CAPTURE,
    CHAIN,
    GAME_OVER,
    LINE,
    PHASE_NAMES,
    TERRITORY,
    RulesConfig,
    State,
)

_NON_ACTING = ("no_", "skip_")


# ----------------------------------------------------------------------------------------
# positions
# ----------------------------------------------------------------------------------------


def pos_key(board: Board, pos) -> str:
    """The cell key ("x,y" / "x,y,z") of a RingRift Position dict or key string."""
    if isinstance(pos, str):
        return pos
    if not isinstance(pos, dict) or "x" not in pos or "y" not in pos:
        raise ValueError(f"malformed position {pos!r}")
    if len(board.coords[0]) == 3:
        z = pos.get("z", -pos["x"] - pos["y"])
        return f"{int(pos['x'])},{int(pos['y'])},{int(z)}"
    return f"{int(pos['x'])},{int(pos['y'])}"


def pos_cell(board: Board, pos) -> int:
    """Dense cell id of a Position dict / key; ValueError if not on the board."""
    return board.parse_cell(pos_key(board, pos))


def cell_pos(board: Board, c: int) -> dict:
    """RingRift Position dict of cell c."""
    coord = board.coords[c]
    d = {"x": int(coord[0]), "y": int(coord[1])}
    if len(coord) == 3:
        d["z"] = int(coord[2])
    return d


# ----------------------------------------------------------------------------------------
# GameState import
# ----------------------------------------------------------------------------------------


def _board_name(st: dict) -> str:
    b = st.get("board")
    if not isinstance(b, dict):
        raise ValueError("GameState has no 'board' object")
    name = b.get("type") or st.get("boardType")
    if name not in BOARD_NAMES:
        raise ValueError(f"unsupported board type {name!r}; jaxzero handles {BOARD_NAMES}")
    return name


def _json_state(obj) -> dict:
    """The GameState dict of a dict, a JSON string or a JSON file (a contract vector's input.state)."""
    if isinstance(obj, (str, Path)) and not (isinstance(obj, str) and obj.lstrip().startswith("{")):
        obj = json.loads(Path(obj).read_text())
    elif isinstance(obj, str):
        obj = json.loads(obj)
    if not isinstance(obj, dict):
        raise ValueError("GameState must be a JSON object")
    if "input" in obj and isinstance(obj["input"], dict) and "state" in obj["input"]:
        obj = obj["input"]["state"]
    return obj


def _state_config(st: dict, cfg: Optional[RulesConfig], cfg_kwargs) -> RulesConfig:
    """The given cfg checked against the state's board and player count, or one built from the state."""
    name = _board_name(st)
    players = st.get("players")
    if not isinstance(players, list) or not players:
        raise ValueError("GameState has no 'players' list")
    p = len(players)
    if p not in (2, 3, 4):
        raise ValueError(f"{p}-player states are not supported (2..4)")
    if cfg is None:
        swap = bool((st.get("rulesOptions") or {}).get("swapRuleEnabled", False))
        return RulesConfig(board=name, num_players=p, swap_rule=swap, **cfg_kwargs)
    if cfg.board != name or cfg.num_players != p:
        raise ValueError(f"cfg ({cfg.board}, {cfg.num_players}p) does not match the state ({name}, {p}p)")
    return cfg


RING_ORDERS = ("top_first", "bottom_first")
"""How a JSON stack lists its rings: `top_first` (the TypeScript engine and the contract
vectors, `rings[0]` is the top) or `bottom_first` (RingRift's Python ai-service models,
`RingStack.rings` "from bottom to top", so the bodies its `/ai/move` receives)."""


def _stack_order(board: dict, b: Board) -> np.ndarray:
    """State.born of a JSON board: the engine's stack dictionary / Map is in insertion order,
    which the JSON object keeps; negative ranks, so every stack created later is younger."""
    keys = list((board.get("stacks") or {}).keys())
    born = np.zeros((b.num_cells,), np.int32)
    for i, key in enumerate(keys):
        born[pos_cell(b, key)] = i - len(keys)
    return born


def _board_arrays(board: dict, b: Board, p: int, ring_order: str = "top_first"):
    """(rings bottom -> top, height, marker, collapsed) of the JSON board's stacks, markers and
    collapsed spaces."""
    n, hmax = b.num_cells, b.max_height
    rings = np.zeros((n, hmax), np.int8)
    height = np.zeros((n,), np.int8)
    for key, stack in (board.get("stacks") or {}).items():
        c = pos_cell(b, key)
        rs = stack.get("rings") if isinstance(stack, dict) else None
        if not isinstance(rs, list) or not rs:
            raise ValueError(f"stack {key}: missing or empty 'rings'")
        if len(rs) > hmax:
            raise ValueError(f"stack {key}: height {len(rs)} exceeds the bound {hmax}")
        if any(not isinstance(r, int) or r < 1 or r > p for r in rs):
            raise ValueError(f"stack {key}: ring owners must be seats 1..{p}, got {rs}")
        top = rs[0] if ring_order == "top_first" else rs[-1]
        if "controllingPlayer" in stack and stack["controllingPlayer"] != top:
            raise ValueError(f"stack {key}: controllingPlayer {stack['controllingPlayer']} is not the top ring {top} "
                             f"(rings are read {ring_order.replace('_', '-')})")
        rings[c, : len(rs)] = rs[::-1] if ring_order == "top_first" else rs  # stored bottom-first
        height[c] = len(rs)
    marker = np.zeros((n,), np.int8)
    for key, m in (board.get("markers") or {}).items():
        c = pos_cell(b, key)
        owner = m.get("player") if isinstance(m, dict) else m
        if not isinstance(owner, int) or not 1 <= owner <= p:
            raise ValueError(f"marker {key}: owner must be a seat 1..{p}, got {owner!r}")
        if height[c]:
            raise ValueError(f"cell {key} holds both a stack and a marker")
        marker[c] = owner
    collapsed = np.zeros((n,), np.int8)
    for key, owner in (board.get("collapsedSpaces") or {}).items():
        c = pos_cell(b, key)
        if not isinstance(owner, int) or not 1 <= owner <= p:
            raise ValueError(f"collapsed space {key}: owner must be a seat 1..{p}, got {owner!r}")
        if height[c] or marker[c]:
            raise ValueError(f"collapsed space {key} also holds a stack or marker")
        collapsed[c] = owner
    return rings, height, marker, collapsed


def _seat_counts(players: list, p: int):
    """(hand, elim, terr) int32 [p] from the players list."""
    hand = np.zeros(p, np.int32)
    elim = np.zeros(p, np.int32)
    terr = np.zeros(p, np.int32)
    seen = set()
    for pl in players:
        k = pl.get("playerNumber")
        if not isinstance(k, int) or not 1 <= k <= p or k in seen:
            raise ValueError(f"bad playerNumber {k!r}")
        seen.add(k)
        hand[k - 1] = int(pl.get("ringsInHand", 0))
        elim[k - 1] = int(pl.get("eliminatedRings", 0))
        terr[k - 1] = int(pl.get("territorySpaces", 0))
    return hand, elim, terr


def _seat_and_phase(st: dict, p: int):
    """(current seat 1..p, phase id); a completed game is in phase game_over."""
    cur = st.get("currentPlayer")
    if not isinstance(cur, int) or not 1 <= cur <= p:
        raise ValueError(f"currentPlayer must be a seat 1..{p}, got {cur!r}")
    phase_name = st.get("currentPhase", "ring_placement")
    status = st.get("gameStatus", "active")
    if status == "completed" or phase_name == "game_over":
        return cur, GAME_OVER
    if phase_name in PHASE_NAMES:
        return cur, PHASE_NAMES.index(phase_name)
    raise ValueError(f"unknown currentPhase {phase_name!r}")


def _history_facts(history: list, cur: int):
    """(swapped, seat 2 has moved, the mover acted this turn, this turn had a recovery slide)."""
    swapped = any(m.get("type") == "swap_sides" for m in history)
    seat2_moved = any(m.get("player") == 2 and m.get("type") != "swap_sides" for m in history)
    # the current player's run of moves at the end of the history = this turn so far
    run: List[dict] = []
    for m in reversed(history):
        if m.get("player") != cur:
            break
        run.append(m)
    acted = any(not str(m.get("type", "")).startswith(_NON_ACTING) for m in run)
    turn_recovery = any(m.get("type") == "recovery_slide" for m in run)
    return swapped, seat2_moved, acted, turn_recovery


def _attacker(st: dict, b: Board, phase: int, history: list) -> int:
    """The capturing stack's cell in the chain_capture and capture phases, else -1."""
    if phase == CHAIN:
        pos = st.get("chainCapturePosition") or (st.get("chainCaptureState") or {}).get("currentPosition")
        if pos is None and history and history[-1].get("to"):
            pos = history[-1]["to"]
        if pos is None:
            raise ValueError("chain_capture phase without chainCapturePosition or a last move")
        return pos_cell(b, pos)
    if phase == CAPTURE:
        if not history or not history[-1].get("to"):
            raise ValueError("capture phase needs the last move (its 'to' is the attacker) in moveHistory")
        return pos_cell(b, history[-1]["to"])
    return -1


_REGION_MOVES = ("choose_territory_option", "process_territory_region")


def _pending_region(st: dict, b: Board, phase: int, cur: int, history: list):
    """(pend_terr, terr_region bool [N]) of a pending territory decision: the state's
    `pendingTerritoryDecision` / `pendingTerritoryElimination`, else (RingRift's Python engine
    keeps no such field) the region of the last move when it is the mover's region choice in
    the territory phase: its self-elimination is then still owed."""
    region = np.zeros((b.num_cells,), bool)
    ptd = st.get("pendingTerritoryDecision") or st.get("pendingTerritoryElimination")
    cells = None
    if isinstance(ptd, dict):
        cells = ptd.get("region", {}).get("spaces") if isinstance(ptd.get("region"), dict) else ptd.get("spaces")
    elif ptd is None and phase == TERRITORY and history:
        last = history[-1]
        regions = last.get("disconnectedRegions") if isinstance(last, dict) else None
        if last.get("type") in _REGION_MOVES and last.get("player") == cur and regions:
            cells = regions[0].get("spaces") if isinstance(regions[0], dict) else None
    if cells:
        for pos in cells:
            region[pos_cell(b, pos)] = True
        return True, region
    return False, region


def _lps_fields(st: dict, p: int) -> dict:
    """The last-player-standing round tracking of a GameState (RingRift's ``lps*`` fields, as
    `dump_game_state` writes them) as host fields; a state without them starts the tracking afresh."""
    def seat(key):
        v = st.get(key)
        if v is None:
            return -1
        if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= p:
            raise ValueError(f"{key} must be a player number 1-{p} or null, got {v!r}")
        return v - 1

    def count(key):
        v = st.get(key, 0)
        if v is None:
            return 0
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise ValueError(f"{key} must be a count >= 0, got {v!r}")
        return v

    mask = st.get("lpsCurrentRoundActorMask") or {}
    if not isinstance(mask, dict):
        raise ValueError(f"lpsCurrentRoundActorMask must map player numbers to booleans, got {type(mask).__name__}")
    seen, actor = np.zeros((p,), bool), np.zeros((p,), bool)
    for k, v in mask.items():
        if not str(k).isdigit() or not 1 <= int(k) <= p:
            raise ValueError(f"lpsCurrentRoundActorMask has player {k!r}; players are 1-{p}")
        seen[int(k) - 1], actor[int(k) - 1] = True, bool(v)
    return dict(lps_round=np.int32(count("lpsRoundIndex")), lps_first=np.int32(seat("lpsCurrentRoundFirstPlayer")),
                lps_seen=seen, lps_actor=actor, lps_excl=np.int32(seat("lpsExclusivePlayerForCompletedRound")),
                lps_count=np.int32(count("lpsConsecutiveExclusiveRounds")),
                lps_cons=np.int32(seat("lpsConsecutiveExclusivePlayer")))


def load_game_state(obj, cfg: Optional[RulesConfig] = None, *, fill_mask: bool = True,
                    ring_order: str = "top_first", **cfg_kwargs):
    """Imports a RingRift JSON GameState. Returns (cfg, State).

    obj: a dict (GameState, or a contract vector whose input.state is used), a JSON string,
    or a path to a JSON file. cfg: the RulesConfig to use (checked against the state's
    board and player count); by default built from the state (swap rule from
    `rulesOptions.swapRuleEnabled`, default off) plus cfg_kwargs. fill_mask: compute the
    legal action mask with the engine. ring_order: how stacks list their rings (RING_ORDERS).
    ValueError with a clear message for malformed input.
    """
    if ring_order not in RING_ORDERS:
        raise ValueError(f"ring_order must be one of {RING_ORDERS}, got {ring_order!r}")
    st = _json_state(obj)
    cfg = _state_config(st, cfg, cfg_kwargs)
    b, p = get_board(cfg.board), cfg.num_players
    rings, height, marker, collapsed = _board_arrays(st["board"], b, p, ring_order)
    hand, elim, terr = _seat_counts(st["players"], p)
    cur, phase = _seat_and_phase(st, p)
    history = st.get("moveHistory") or []
    if not isinstance(history, list):
        raise ValueError("moveHistory must be a list")
    swapped, seat2_moved, acted, turn_recovery = _history_facts(history, cur)
    attack = _attacker(st, b, phase, history)
    mm = st.get("mustMoveFromStackKey")
    must_move = pos_cell(b, mm) if mm else -1
    pend_line = bool(st.get("pendingLineRewardElimination", False))
    if any(not isinstance(m, dict) for m in history):
        raise ValueError("moveHistory entries must be Move objects")
    pend_terr, region = _pending_region(st, b, phase, cur, history)
    winner = st.get("winner")
    vt = st.get("victoryThreshold")
    tm = st.get("territoryVictoryMinimum", st.get("territoryVictoryThreshold"))
    h = dict(
        rings=rings,
        height=height,
        marker=marker,
        collapsed=collapsed,
        hand=hand,
        elim=elim,
        terr=terr,
        cur=np.int32(cur - 1),
        phase=np.int32(phase),
        must_move=np.int32(must_move),
        attack=np.int32(attack),
        acted=np.bool_(acted),
        turn_recovery=np.bool_(turn_recovery),
        pend_line=np.bool_(pend_line),
        pend_terr=np.bool_(pend_terr),
        terr_region=region,
        swapped=np.bool_(swapped),
        swap_window=np.bool_(cfg.swap_rule and p == 2 and not swapped and not seat2_moved),
        winner=np.int32(winner - 1 if isinstance(winner, int) else -1),
        victory_threshold=np.int32(cfg.victory_threshold if vt is None else vt),
        territory_minimum=np.int32(cfg.territory_minimum if tm is None else tm),
        move_count=np.int32(len(history)),
        last_actor=np.int32(history[-1]["player"] - 1 if history and isinstance(history[-1].get("player"), int) else -1),
        current_player=np.int32(cur - 1),
        terminated=np.bool_(phase == GAME_OVER),
        out_turn=notation.out_turn_of(hand, rings, p),
        born=_stack_order(st["board"], b),
        **_lps_fields(st, p),
    )
    state = notation.from_host(cfg, h)
    if fill_mask:
        state = state.replace(legal_action_mask=notation.engine_fns(cfg).legal_mask(state))
    return cfg, state


def dump_game_state(cfg: RulesConfig, state, *, game_id: str = "jaxzero", created_at: Optional[str] = None,
                    move_history: Optional[Sequence[dict]] = None) -> dict:
    """The RingRift JSON GameState (TS field names, stacks TOP-first as `load_game_state` reads them
    by default) of a position: board, players' counters, phase, seat to move, thresholds, pending
    line reward, chain-capture position, last-player-standing tracking and `rulesOptions`.

    A position alone says nothing of its move history, so what only the history tells (`acted`,
    `swapped`, the swap window, a capture-phase attacker) is carried by ``move_history``: the game's
    RingRift Move dicts so far, written as `moveHistory` (RingRift's server sends them too). Without
    it (`moveHistory` empty) the dump is exact for a game's initial position, and
    `check_round_trip` says whether it is for another one. state: a State or a `notation.to_host` dict."""
    s = notation._h(state)
    b, p = get_board(cfg.board), cfg.num_players
    phase = int(s["phase"])
    over = phase == GAME_OVER
    seat = lambda v: None if int(v) < 0 else int(v) + 1  # noqa: E731
    cells = [c for c in range(b.num_cells) if int(s["height"][c]) > 0]
    cells.sort(key=lambda c: (int(s["born"][c]), c))  # the stack dictionary's insertion order
    stacks = {}
    for c in cells:
        rings = [int(r) for r in s["rings"][c, : int(s["height"][c])]][::-1]  # top first
        cap = next((i for i, r in enumerate(rings) if r != rings[0]), len(rings))
        stacks[b.cell_str(c)] = {"position": cell_pos(b, c), "rings": rings, "stackHeight": len(rings),
                                 "capHeight": cap, "controllingPlayer": rings[0]}
    markers = {b.cell_str(c): {"player": int(o), "position": cell_pos(b, c), "type": "regular"}
               for c, o in enumerate(s["marker"]) if int(o) > 0}
    collapsed = {b.cell_str(c): int(o) for c, o in enumerate(s["collapsed"]) if int(o) > 0}
    players = [{"id": f"p{k}", "username": f"Player {k}", "type": "ai", "playerNumber": k, "isReady": True,
                "timeRemaining": 0, "ringsInHand": int(s["hand"][k - 1]), "eliminatedRings": int(s["elim"][k - 1]),
                "territorySpaces": int(s["terr"][k - 1])} for k in range(1, p + 1)]
    actor = {str(k + 1): bool(s["lps_actor"][k]) for k in range(p) if bool(s["lps_seen"][k])}
    attack = int(s["attack"])
    st = {
        "id": game_id, "boardType": cfg.board, "rngSeed": None,
        "board": {"type": cfg.board, "size": 8 if cfg.board == "square8" else 9, "stacks": stacks, "markers": markers,
                  "collapsedSpaces": collapsed, "eliminatedRings": {str(k): int(s["elim"][k - 1]) for k in range(1, p + 1)},
                  "formedLines": [], "territories": {}},
        "players": players,
        "currentPhase": PHASE_NAMES[phase],
        "currentPlayer": int(s["cur"]) + 1,
        "moveHistory": [dict(m) for m in (move_history or [])],
        "timeControl": {"initialTime": 0, "increment": 0, "type": "none"},
        "spectators": [],
        "gameStatus": "completed" if over else "active",
        "winner": seat(s["winner"]) if over else None,
        "createdAt": created_at, "lastMoveAt": created_at,
        "isRated": False,
        "maxPlayers": p,
        "totalRingsInPlay": int(s["hand"].sum()) + int(s["height"].astype(np.int64).sum()),
        "totalRingsEliminated": int(s["elim"].sum()),
        "victoryThreshold": int(s["victory_threshold"]),
        "territoryVictoryThreshold": b.num_cells // 2 + 1,  # the legacy >50% rule RingRift still sends
        "territoryVictoryMinimum": int(s["territory_minimum"]),
        "chainCaptureState": None,
        "mustMoveFromStackKey": b.cell_str(int(s["must_move"])) if int(s["must_move"]) >= 0 else None,
        "zobristHash": None,
        "lpsRoundIndex": int(s["lps_round"]),
        "lpsCurrentRoundActorMask": actor,
        "lpsExclusivePlayerForCompletedRound": seat(s["lps_excl"]),
        "lpsCurrentRoundFirstPlayer": seat(s["lps_first"]),
        "lpsConsecutiveExclusiveRounds": int(s["lps_count"]),
        "lpsRoundsRequired": int(cfg.lps_rounds),
        "lpsConsecutiveExclusivePlayer": seat(s["lps_cons"]),
        "rulesOptions": {"swapRuleEnabled": bool(cfg.swap_rule)},
        "pendingLineRewardElimination": bool(s["pend_line"]),
    }
    if phase == CHAIN and attack >= 0:
        st["chainCapturePosition"] = cell_pos(b, attack)
    return st


def check_round_trip(cfg: RulesConfig, state, move_history: Optional[Sequence[dict]] = None) -> None:
    """ValueError naming the differing digest fields unless `load_game_state(dump_game_state(state,
    move_history=move_history))` is the same position (`notation.digest`) as `state`."""
    _, back = load_game_state(dump_game_state(cfg, state, move_history=move_history), cfg, fill_mask=False)
    diff = notation.diff_digests(notation.digest(cfg, back), notation.digest(cfg, state))
    if diff:
        raise ValueError(f"this position does not survive RingRift JSON without its move history: {diff}")


# ----------------------------------------------------------------------------------------
# RingRift Move dict <-> reference move string
# ----------------------------------------------------------------------------------------


def _cells_of(board: Board, positions) -> str:
    return ";".join(
        board.cell_str(c) for c in sorted(pos_cell(board, p) for p in positions)
    )


def move_to_string(cfg: RulesConfig, state, move: dict) -> str:
    """The reference move string (traces/FORMAT.md) of a RingRift Move dict in `state`.

    `eliminate_rings_from_stack` takes its context from the phase (line / territory, or
    recovery after a recovery slide this turn); a `recovery_slide` without
    `extractionStacks` gets `ext -` (the engine then asks for the stack, see parse_move).
    ValueError for unknown or incomplete moves.
    """
    b = get_board(cfg.board)
    s = notation._h(state)
    t = move.get("type")
    k = lambda f: pos_key(b, move[f]) if move.get(f) is not None else _missing(t, f)  # noqa: E731
    if t == "place_ring":
        return f"place {k('to')} x{int(move.get('placementCount', 1))}"
    if t == "move_stack" or t == "move_ring":
        return f"move {k('from')}>{k('to')}"
    if t in ("overtaking_capture", "continue_capture_segment"):
        word = "chain" if t == "continue_capture_segment" else "capture"
        return f"{word} {k('from')}x{k('captureTarget')}>{k('to')}"
    if t in ("process_line", "choose_line_option", "choose_line_reward"):
        lines = move.get("formedLines") or []
        if not lines or not lines[0].get("positions"):
            raise ValueError(f"{t}: formedLines[0].positions is required")
        cells = _cells_of(b, lines[0]["positions"])
        if t == "process_line":
            return f"process_line {cells}"
        coll = move.get("collapsedMarkers")
        if coll and len(coll) < len(lines[0]["positions"]):
            return f"line_option {cells} seg {_cells_of(b, coll)}"
        return f"line_option {cells} all"
    if t == "eliminate_rings_from_stack":
        c = k("to")
        ph = int(s["phase"])
        ctx = move.get("eliminationContext")
        if ctx not in ("line", "territory", "recovery"):
            ctx = "line" if ph == LINE else ("recovery" if bool(s["turn_recovery"]) else "territory")
        return f"elim {c} {ctx}"
    if t == "forced_elimination":
        return f"forced_elim {k('to')}"
    if t in ("choose_territory_option", "process_territory_region"):
        regions = move.get("disconnectedRegions") or []
        if not regions or not regions[0].get("spaces"):
            raise ValueError(f"{t}: disconnectedRegions[0].spaces is required")
        return f"territory {_cells_of(b, regions[0]['spaces'])}"
    if t == "recovery_slide":
        src, dst = k("from"), k("to")
        mode = move.get("recoveryMode")
        opt = move.get("recoveryOption", move.get("option"))
        if mode is None:
            modes = notation.recovery_modes(cfg, s, b.parse_cell(src), b.parse_cell(dst))
            mode = "line" if modes[0].startswith("line") else modes[0]
        if mode == "line" or mode in ("exact", "overlength"):
            if int(opt or 1) == 2:
                coll = move.get("collapsedMarkers") or move.get("collapsePositions") or []
                if not coll:
                    raise ValueError("recovery_slide option 2 needs collapsedMarkers")
                return f"recovery {src}>{dst} line opt2 collapse {_cells_of(b, coll)}"
            mode = "line opt1"
        ext = move.get("extractionStacks") or []
        kk = pos_key(b, ext[0]) if ext else "-"
        return f"recovery {src}>{dst} {mode} ext {kk}"
    simple = {
        "skip_placement": "skip_placement",
        "skip_capture": "skip_capture",
        "skip_territory_processing": "skip_territory",
        "skip_recovery": "skip_recovery",
        "swap_sides": "swap",
        "no_placement_action": "no_placement_action",
        "no_movement_action": "no_movement_action",
        "no_line_action": "no_line_action",
        "no_territory_action": "no_territory_action",
    }
    if t in simple:
        return simple[t]
    raise ValueError(f"unknown or unsupported move type {t!r}")


def _missing(t, f):
    raise ValueError(f"{t}: field {f!r} is required")


def move_to_actions(cfg: RulesConfig, state: State, move: dict) -> List[int]:
    """The action-id sequence realising a RingRift Move dict in `state` (see parse_move)."""
    return notation.parse_move(cfg, state, move_to_string(cfg, state, move))


def string_to_move(cfg: RulesConfig, move_str: str, player: int) -> dict:
    """A RingRift Move dict (TS field names) for a reference move string of seat `player`."""
    b = get_board(cfg.board)
    kind, g = notation.check_move_syntax(cfg, move_str)
    pos = lambda key: cell_pos(b, b.parse_cell(key))  # noqa: E731
    cells = lambda txt: [pos(x) for x in txt.split(";")]  # noqa: E731
    m: Dict = {"player": int(player)}
    if kind == "place":
        m.update(type="place_ring", to=pos(g[0]), placementCount=int(g[1]))
    elif kind == "move":
        m.update(type="move_stack", to=pos(g[1]), **{"from": pos(g[0])})
    elif kind == "capture":
        m.update(
            type="overtaking_capture" if g[0] == "capture" else "continue_capture_segment",
            captureTarget=pos(g[2]),
            to=pos(g[3]),
            **{"from": pos(g[1])},
        )
    elif kind == "line":
        typ = "process_line" if move_str.startswith("process_line") else "choose_line_option"
        m.update(type=typ, formedLines=[{"positions": cells(g[0]), "player": int(player)}])
        if typ == "choose_line_option":
            m["collapsedMarkers"] = cells(g[0])
    elif kind == "seg":
        m.update(type="choose_line_option", formedLines=[{"positions": cells(g[0]), "player": int(player)}],
                 collapsedMarkers=cells(g[1]))
    elif kind == "elim":
        m.update(type="eliminate_rings_from_stack", to=pos(g[0]), eliminationContext=g[1])
    elif kind == "fe":
        m.update(type="forced_elimination", to=pos(g[0]))
    elif kind == "territory":
        m.update(type="choose_territory_option",
                 disconnectedRegions=[{"spaces": cells(g[0]), "controllingPlayer": int(player), "isDisconnected": True}])
    elif kind == "recovery":
        mode = g[2]
        m.update(type="recovery_slide", to=pos(g[1]), **{"from": pos(g[0])})
        if mode == "line opt1":
            m.update(recoveryMode="line", recoveryOption=1)
        else:
            m.update(recoveryMode=mode)
        if g[3] != "-":
            m["extractionStacks"] = [g[3]]
    elif kind == "recovery2":
        m.update(type="recovery_slide", to=pos(g[1]), recoveryMode="line", recoveryOption=2,
                 collapsedMarkers=cells(g[2]), **{"from": pos(g[0])})
    elif kind == "special":
        m["type"] = {"skip_territory": "skip_territory_processing", "swap": "swap_sides"}.get(g[0], g[0])
    else:
        m["type"] = g[0]
    return m


# ----------------------------------------------------------------------------------------
# export
# ----------------------------------------------------------------------------------------


def action_to_move(cfg: RulesConfig, state, action: int, game_state: Optional[dict] = None) -> dict:
    """The RingRift Move dict (TS field names) that action id `action` stands for in `state`
    (a State or a `notation.to_host` dict), built from the action layout via the reference
    string (`notation.action_to_moves`, first form): a line id of kind 0 is `process_line`,
    a recovery slide is the whole move with its mode (Option 1 for a line slide) and no
    extraction stack (RingRift's engine then applies its single offered extraction). Line
    and territory decisions name their first cell (lowest cell id) in `to`, as RingRift's
    legal moves do. ValueError if the id names no move in this state (e.g. a recovery
    sub-decision, which RingRift folds into the slide). game_state: the JSON GameState the
    state was read from; with it, skip moves carry the `to` RingRift's engine gives them.
    """
    s = notation._h(state)
    strs = notation.action_to_moves(cfg, s, int(action))
    if not strs:
        raise ValueError(f"action {int(action)} names no move in phase {PHASE_NAMES[int(s['phase'])]}")
    mv = strs[0]
    if mv.startswith("ext ") or mv.startswith("rec_option "):
        raise ValueError(f"action {int(action)} is a recovery sub-decision ({mv!r}), not a RingRift move")
    if mv.startswith("recovery ") and " opt2 " not in mv:
        mv += " ext -"
    move = string_to_move(cfg, mv, int(s["cur"]) + 1)
    cells = None
    if move.get("formedLines"):
        cells = move["formedLines"][0]["positions"]
    elif move.get("disconnectedRegions"):
        cells = move["disconnectedRegions"][0]["spaces"]
    if cells and "to" not in move:
        move["to"] = dict(cells[0])
    if game_state is not None and move["type"] in _SENTINEL_TO:
        move["to"] = _sentinel_to(cfg, game_state, move)
    return move


_SENTINEL_TO = ("skip_placement", "skip_capture", "skip_territory_processing")


def _sentinel_to(cfg: RulesConfig, game_state: dict, move: dict):
    """The position RingRift's engine writes into a skip move's `to` (it carries no meaning):
    a skip_placement names the mover's first controlled stack in the state's stack order,
    the other skips (0, 0) on both boards (no z, also on hex8)."""
    b = get_board(cfg.board)
    if move["type"] == "skip_placement":
        stacks = (game_state.get("board") or {}).get("stacks") or {}
        for key, stack in stacks.items():
            if isinstance(stack, dict) and stack.get("controllingPlayer") == move["player"]:
                return cell_pos(b, pos_cell(b, key))
        return None
    return {"x": 0, "y": 0}


def export_moves(cfg: RulesConfig, state: State, actions: Sequence[int], *, as_strings: bool = False,
                 auto_bookkeeping: bool = True):
    """Replays `actions` from `state` with the engine and returns the canonical RingRift
    move list of the game (Move dicts, or reference strings with as_strings=True).

    Bookkeeping moves are included: ids in `actions` are exported as they are, and with
    auto_bookkeeping the `no_*_action` moves that `step` applies by itself (states whose
    only legal id is a bookkeeping id, while the next given action is something else) are
    inserted. Recovery sub-decisions (Option 1/2 choice, extraction stack) are folded into
    their `recovery_slide` move, whose string then carries `ext K` / `collapse CELLS`.
    ValueError if an action is not legal where it is played.
    """
    eng = notation.engine_fns(cfg)
    b = get_board(cfg.board)
    lay = action_space.layout_for(b)
    out: List = []
    pending = None  # [string parts, player] of a recovery slide awaiting sub-decisions
    acts = [int(a) for a in actions]
    i = 0
    guard = 0
    while i < len(acts):
        guard += 1
        if guard > 100 * (len(acts) + 10):
            raise ValueError("export_moves: bookkeeping loop does not terminate")
        mask = np.asarray(eng.legal_mask(state))
        hs = notation.to_host(state)
        a = acts[i]
        if not mask[a]:
            ids = notation.legal_ids(mask)
            if auto_bookkeeping and len(ids) == 1 and lay.decode(ids[0])[0] == action_space.BOOKKEEP:
                a = ids[0]
            else:
                raise ValueError(f"export_moves: action {acts[i]} ({notation.action_to_moves(cfg, hs, acts[i])}) is not legal at move {i}")
        else:
            i += 1
        player = int(hs["cur"]) + 1
        strs = notation.action_to_moves(cfg, hs, a)
        block = lay.decode(a)[0]
        if pending is not None and (bool(hs["pend_extract"]) or bool(hs.get("pend_rec_line", False))):
            if block == action_space.TARGET:
                pending[0] = pending[0].rsplit(" ext ", 1)[0] + f" ext {b.cell_str(lay.decode(a)[1][0])}"
                pending[2] = None
            elif block == action_space.LINE:
                if strs[0].startswith("rec_option opt2"):
                    pending[0] = pending[0].split(" line ")[0] + " line opt2 collapse " + strs[0].split("collapse ", 1)[1]
        else:
            if pending is not None:
                out.append(pending)
                pending = None
            if strs and strs[0].startswith("recovery "):
                pending = [strs[0] + ("" if " line opt2" in strs[0] else " ext -"), player, hs]
            else:
                out.append([strs[0], player])
        state = eng.apply_move(state, np.int32(a))
        if pending is not None and not (bool(state.pend_extract) or bool(getattr(state, "pend_rec_line", False))):
            out.append(_close_recovery(b, pending, notation.to_host(state)))
            pending = None
    if pending is not None:
        out.append(_close_recovery(b, pending, notation.to_host(state)))
    if as_strings:
        return [s for s, _ in out]
    return [string_to_move(cfg, s, p) for s, p in out]


def _close_recovery(b: Board, pending, after) -> list:
    """Fills the `ext K` of a recovery string the engine resolved by itself: K is the one
    stack that lost a ring of the mover (a recovery only removes the mover's rings by
    extraction; a stack-strike removes an opponent's top ring)."""
    s, player, before = pending[0], pending[1], pending[2]
    if s.endswith(" ext -") and before is not None:
        lost = np.flatnonzero((before["rings"] == player).sum(1) > (after["rings"] == player).sum(1))
        if len(lost) == 1:
            s = s[: -len(" ext -")] + f" ext {b.cell_str(int(lost[0]))}"
    return [s, player]
