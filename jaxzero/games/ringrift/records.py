"""RingRift game records: jaxzero games as RingRift's JSONL game records, and back.

One game per line, in the shape of RingRift's Python `GameRecord` model
(synaptent/RingRift `ai-service/app/models/game_record.py`, spec
`ai-service/docs/specs/GAME_RECORD_SPEC.md`): `id`, `boardType`, `numPlayers`, `rngSeed`,
`isRated`, `players`, `winner`, `outcome`, `finalScore` (`ringsEliminated`, `territorySpaces`,
`ringsRemaining` per seat), `startedAt`, `endedAt`, `totalMoves`, `totalDurationMs`, `moves`
(RingRift Move JSON with `moveNumber` and `thinkTimeMs`) and `metadata` (`recordVersion`,
`createdAt`, `source`, `sourceId`, `generation`, `tags`). RingRift's model ignores fields it
does not know, so jaxzero adds what a replay needs: `initialState` (a RingRift GameState,
`parity.interop.dump_game_state`), `terminationReason` (the engine's reason: RingRift's
`outcome` has no value for a structural stalemate or a move limit) and, in `metadata`,
`producer`, `origin` (selfplay / arena / served), `game`, `modelId`, `searchBudget` and `rules`
(the RulesConfig fields a replay needs: swap rule, auto_single, move limit).

The moves are RingRift's canonical list (`interop.export_moves`): an env step's automatic
bookkeeping moves and (with auto_single) forced single options are moves of their own, and a
recovery slide's sub-decisions fold into its `recovery_slide` move. `replay_record` reads them
back with the rules engine (`interop.move_to_actions`, `apply_move`) and regroups the engine's
moves into the env's decisions, so a record written from a game played with the env replays to
the same states, actions and outcome (`tests/ringrift/test_records.py`).

Host-side and RingRift only; `jaxzero.replays` turns its `GameRecord` into records and back.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import uuid
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxzero.games.ringrift import actions as action_space
from jaxzero.games.ringrift.boards import BOARD_NAMES, get_board
from jaxzero.games.ringrift.parity import interop, notation
from jaxzero.games.ringrift.presets import rules_config
from jaxzero.games.ringrift.state import GAME_OVER, REASON_NAMES, RulesConfig, State

RECORD_VERSION = "1.0"

ORIGINS = {"selfplay": "self_play", "arena": "tournament", "served": "online_game"}
"""jaxzero's sources of games -> RingRift's `RecordSource` values."""

OUTCOMES = {
    "ring_elimination": "ring_elimination",
    "territory_control": "territory_control",
    "last_player_standing": "last_player_standing",
    "last_player_standing_early": "last_player_standing",
    "structural_stalemate": "draw",  # RingRift's GameOutcome has no stalemate; the ranks decide the winner
    "max_moves": "draw",  # stopped by the move limit (truncated): no result
    "stopped": "abandonment",  # stopped before its end (a capped replay)
}
"""The engine's termination reasons -> RingRift's `GameOutcome` values (`terminationReason` keeps the exact one)."""

REQUIRED = {"id": str, "boardType": str, "numPlayers": int, "moves": list, "metadata": dict, "initialState": dict,
            "outcome": str}
RULE_FIELDS = ("swap_rule", "auto_single", "max_moves", "lps_rounds", "reference_compat")
_MAX_AUTO = 10_000


class RecordError(ValueError):
    """A malformed or inconsistent record; the message names where (file line) and the field."""


# ----------------------------------------------------------------------------------------
# engine helpers
# ----------------------------------------------------------------------------------------


def _to_state(cfg: RulesConfig, host: dict) -> State:
    """An engine State from a host dict of every field (`jaxzero.replays.host_state`, `notation.to_host`)."""
    return notation.from_host(cfg, host)


def _running(cfg: RulesConfig, h: dict) -> bool:
    return int(h["phase"]) != GAME_OVER and int(h["move_count"]) < cfg.max_moves


def _forced(cfg: RulesConfig, lay, h: dict, mask: np.ndarray) -> Optional[int]:
    """The id `step` applies by itself in host state h (a lone bookkeeping move, or with auto_single
    a lone option), or None where `step` stops for a decision or the end."""
    if not _running(cfg, h):
        return None
    ids = np.flatnonzero(mask)
    if len(ids) != 1:
        return None
    a = int(ids[0])
    return a if cfg.auto_single or lay.decode(a)[0] == action_space.BOOKKEEP else None


def expand_actions(cfg: RulesConfig, states: Sequence[dict], actions: Sequence[int]) -> List[int]:
    """The engine's move ids behind a game's env decisions: ``states[t]`` (host dicts of the env's
    states, t = 0..T) and ``actions[t]`` played in them. Each env step is its action followed by the
    moves `step` applied by itself; the engine's position after them is checked against
    ``states[t + 1]`` (RuntimeError naming the decision if they differ)."""
    if len(states) != len(actions) + 1:
        raise ValueError(f"{len(states)} states for {len(actions)} actions; expected one more state than actions")
    eng = notation.engine_fns(cfg)
    lay = action_space.layout_for(get_board(cfg.board))
    out: List[int] = []
    for t, a in enumerate(actions):
        s = eng.apply_move(_to_state(cfg, states[t]), jnp.int32(int(a)))
        out.append(int(a))
        for _ in range(_MAX_AUTO):
            h = notation.to_host(s)
            forced = _forced(cfg, lay, h, np.asarray(eng.legal_mask(s)))
            if forced is None:
                break
            out.append(forced)
            s = eng.apply_move(s, jnp.int32(forced))
        diff = notation.diff_digests(notation.digest(cfg, h), notation.digest(cfg, states[t + 1]))
        if diff:
            raise RuntimeError(f"decision {t} (action {int(a)}): the engine's moves do not reach the next recorded "
                               f"state (fields {diff})")
    return out


# ----------------------------------------------------------------------------------------
# export
# ----------------------------------------------------------------------------------------


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat()


def termination_reason(cfg: RulesConfig, final: dict) -> str:
    """The engine's reason a game ended (`state.REASON_NAMES`), ``max_moves`` if truncated, else ``stopped``."""
    if int(final["phase"]) == GAME_OVER:
        return REASON_NAMES[int(final["reason"])]
    return "max_moves" if int(final["move_count"]) >= cfg.max_moves else "stopped"


def final_score(cfg: RulesConfig, final: dict) -> dict:
    """RingRift's `finalScore` of a position: eliminated rings, territory spaces and rings remaining
    (in hand and on the board) per seat, keyed by the seat number as a string."""
    p = cfg.num_players
    on_board = [int((final["rings"][:, :] == k).sum()) for k in range(1, p + 1)]
    return {
        "ringsEliminated": {str(k): int(final["elim"][k - 1]) for k in range(1, p + 1)},
        "territorySpaces": {str(k): int(final["terr"][k - 1]) for k in range(1, p + 1)},
        "ringsRemaining": {str(k): int(final["hand"][k - 1]) + on_board[k - 1] for k in range(1, p + 1)},
    }


def game_record(cfg: RulesConfig, states: Sequence[dict], actions: Sequence[int], *, origin: str = "selfplay",
                players: Optional[Sequence[str]] = None, model_id: Optional[str] = None,
                search_budget: Optional[dict] = None, ai_type: Optional[str] = None,
                game_id: Optional[str] = None, seed: Optional[int] = None,
                iteration: Optional[int] = None, started_at: Optional[str] = None, ended_at: Optional[str] = None,
                duration_ms: int = 0, tags: Sequence[str] = ()) -> dict:
    """The RingRift game record (a JSON-ready dict) of a game played with the env: ``states[t]`` its
    env states as host dicts (t = 0..T), ``actions[t]`` the env action played in ``states[t]``.

    origin: ``selfplay``, ``arena`` or ``served`` (RingRift's `source` from `ORIGINS`). players: a
    name per seat (default ``jaxzero``); ai_type: RingRift's `AIType` of every seat (e.g.
    ``gumbel_mcts``, ``maxn``, ``random``). model_id, search_budget (e.g. ``{"simulations": 16,
    "consideredActions": 8}``), seed, iteration: metadata. Timestamps default to now (ISO 8601, UTC).
    ValueError for an unknown origin, a game whose first position does not survive RingRift JSON or
    whose actions are not legal where played."""
    if origin not in ORIGINS:
        raise ValueError(f"origin must be one of {sorted(ORIGINS)}, got {origin!r}")
    p = cfg.num_players
    players = list(players) if players is not None else ["jaxzero"] * p
    if len(players) != p:
        raise ValueError(f"{len(players)} player names for a {p}-player game")
    now = _now()
    started_at, ended_at = started_at or now, ended_at or now
    interop.check_round_trip(cfg, states[0])
    engine_ids = expand_actions(cfg, states, actions)
    moves = interop.export_moves(cfg, _to_state(cfg, states[0]), engine_ids, auto_bookkeeping=False)
    final = states[-1]
    reason = termination_reason(cfg, final)
    winner = int(final["winner"])
    record = {
        "id": game_id or str(uuid.uuid4()),
        "boardType": cfg.board,
        "numPlayers": p,
        "rngSeed": seed,
        "isRated": False,
        "players": [{"playerNumber": k + 1, "username": str(name), "playerType": "ai", "aiType": ai_type}
                    for k, name in enumerate(players)],
        "winner": winner + 1 if int(final["phase"]) == GAME_OVER and winner >= 0 else None,
        "outcome": OUTCOMES[reason],
        "terminationReason": reason,
        "finalScore": final_score(cfg, final),
        "startedAt": started_at,
        "endedAt": ended_at,
        "totalMoves": len(moves),
        "totalDurationMs": int(duration_ms),
        "moves": [dict(m, moveNumber=i + 1, thinkTimeMs=0) for i, m in enumerate(moves)],
        "metadata": {
            "recordVersion": RECORD_VERSION,
            "createdAt": now,
            "source": ORIGINS[origin],
            "sourceId": model_id,
            "generation": iteration,
            "tags": ["jaxzero", origin, *tags],
            "producer": "jaxzero",
            "origin": origin,
            "game": f"ringrift_{cfg.board}_{p}p",
            "modelId": model_id,
            "searchBudget": search_budget,
            "rules": {f: getattr(cfg, f) for f in RULE_FIELDS},
        },
        "initialState": interop.dump_game_state(cfg, states[0], game_id="initial", created_at=started_at),
    }
    return record


def record_line(record: dict) -> str:
    """One JSONL line (no newline) of a record."""
    return json.dumps(record, separators=(",", ":"))


def append_records(path, records: Sequence[dict]) -> Path:
    """Appends records to a JSONL file (created with its folder if missing); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torn = path.exists() and path.stat().st_size > 0 and not path.read_bytes().endswith(b"\n")
    with path.open("a") as f:
        if torn:  # a line cut by a kill stays on its own line (and is reported when read)
            f.write("\n")
        for r in records:
            f.write(record_line(r) + "\n")
    return path


# ----------------------------------------------------------------------------------------
# import
# ----------------------------------------------------------------------------------------


def check_record(record, where: str = "record") -> None:
    """RecordError naming `where` and the field unless `record` has the fields a replay reads with
    the right types (the values are checked by the replay)."""
    if not isinstance(record, dict):
        raise RecordError(f"{where}: a record is a JSON object, got {type(record).__name__}")
    for field, typ in REQUIRED.items():
        if field not in record:
            raise RecordError(f"{where}: field {field!r} is missing")
        if not isinstance(record[field], typ) or (typ is int and isinstance(record[field], bool)):
            raise RecordError(f"{where}: field {field!r} must be {typ.__name__}, got {type(record[field]).__name__}")
    if record["boardType"] not in BOARD_NAMES:
        raise RecordError(f"{where}: field 'boardType': {record['boardType']!r} is not one of {BOARD_NAMES}")
    if record["numPlayers"] not in (2, 3, 4):
        raise RecordError(f"{where}: field 'numPlayers': {record['numPlayers']} is not 2, 3 or 4")
    for i, m in enumerate(record["moves"]):
        if not isinstance(m, dict) or not isinstance(m.get("type"), str) or not isinstance(m.get("player"), int):
            raise RecordError(f"{where}: field 'moves[{i}]': a Move object with 'type' and 'player' is required")
    rules = record["metadata"].get("rules")
    if rules is not None and (not isinstance(rules, dict) or set(rules) - set(RULE_FIELDS)):
        raise RecordError(f"{where}: field 'metadata.rules' must be an object of {RULE_FIELDS}")


def read_records(path) -> List[dict]:
    """The records of a JSONL file (blank lines skipped); RecordError naming the line and the field
    for a line that is not JSON or lacks a field a replay needs."""
    return [r for _, r in located_records(path)]


def located_records(path) -> List[Tuple[str, dict]]:
    """``(where, record)`` of each record of a JSONL file, where = ``"<path>:<line>"`` (see read_records)."""
    path = Path(path)
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise RecordError(f"{where}: not JSON ({e.msg} at column {e.colno})") from None
        check_record(record, where)
        out.append((where, record))
    return out


def record_config(record: dict, where: str = "record") -> RulesConfig:
    """The rules a record was played under: `metadata.rules` when jaxzero wrote it, else jaxzero's
    self-play rules for its board and player count with the swap rule of `initialState.rulesOptions`."""
    board, p = record["boardType"], record["numPlayers"]
    rules = record["metadata"].get("rules")
    if rules is None:
        swap = bool((record["initialState"].get("rulesOptions") or {}).get("swapRuleEnabled", p == 2))
        return rules_config(board, p, swap_rule=swap)
    try:
        return RulesConfig(board=board, num_players=p, **rules)
    except (TypeError, ValueError) as e:
        raise RecordError(f"{where}: field 'metadata.rules': {e}") from None


@dataclasses.dataclass
class Replayed:
    """A record replayed by the engine: the env's states at its decisions (host dicts, t = 0..T), the
    env action played in each, their names (RingRift notation), and the outcome."""

    cfg: RulesConfig
    states: List[dict]
    actions: List[int]
    moves: List[str]
    rewards: np.ndarray
    terminated: bool
    truncated: bool
    record: dict


_VIEWS: Dict[RulesConfig, object] = {}


def _view_fn(cfg: RulesConfig):
    if cfg not in _VIEWS:
        from jaxzero.games.ringrift.env import RingRiftEnv

        _VIEWS[cfg] = jax.jit(RingRiftEnv(cfg).decision_view)
    return _VIEWS[cfg]


def replay_record(record: dict, where: str = "record") -> Replayed:
    """Replays a record with the rules engine from its `initialState`, move by move, and regroups
    the engine's moves into the env's decisions (`step` applies lone bookkeeping moves, and with
    auto_single lone options, by itself). RecordError naming `where` and the field for a move that
    is malformed or illegal where it is played, or an outcome the replay does not reach."""
    check_record(record, where)
    cfg = record_config(record, where)
    try:
        _, state = interop.load_game_state(record["initialState"], cfg, fill_mask=False)
    except (ValueError, TypeError, KeyError) as e:
        raise RecordError(f"{where}: field 'initialState': {e}") from None
    eng = notation.engine_fns(cfg)
    lay = action_space.layout_for(get_board(cfg.board))
    view = _view_fn(cfg)
    h = notation.to_host(state)
    states, acts, names = [notation.to_host(view(state))], [], []
    pending_decision = True  # the next engine id is an env decision (else `step` applied it by itself)
    for i, move in enumerate(record["moves"]):
        try:
            ids = interop.move_to_actions(cfg, state, move)
        except (ValueError, TypeError, KeyError) as e:
            raise RecordError(f"{where}: field 'moves[{i}]' ({move.get('type')}): {e}") from None
        for a in ids:
            if not _running(cfg, h):
                raise RecordError(f"{where}: field 'moves[{i}]': the game is over before this move")
            if pending_decision:
                acts.append(a)
                names.append(notation.action_to_moves(cfg, h, a)[0])
            state = eng.apply_move(state, jnp.int32(a))
            h = notation.to_host(state)
            pending_decision = _forced(cfg, lay, h, np.asarray(eng.legal_mask(state))) is None
            if pending_decision:
                states.append(notation.to_host(view(state)))
    if not pending_decision:
        raise RecordError(f"{where}: field 'moves': the record ends inside an automatic sequence "
                          f"(move {len(record['moves'])} leaves a forced move unplayed)")
    final = states[-1]
    reason = termination_reason(cfg, final)
    declared = record.get("terminationReason")
    if declared is not None and declared != reason:
        raise RecordError(f"{where}: field 'terminationReason': the record says {declared!r}, the replay ends by {reason!r}")
    winner = int(final["winner"]) + 1 if int(final["phase"]) == GAME_OVER and int(final["winner"]) >= 0 else None
    if "winner" in record and record["winner"] != winner:
        raise RecordError(f"{where}: field 'winner': the record says {record['winner']!r}, the replay gives {winner!r}")
    return Replayed(cfg, states, acts, names, np.asarray(final["rewards"]), bool(final["terminated"]),
                    bool(final["truncated"]), record)
