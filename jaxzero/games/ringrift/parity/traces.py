"""Reading and validating the RingRift reference trace files (traces/FORMAT.md).

A trace file is gzip-compressed JSON Lines, one game per line. `read_games` yields the
games as dicts after checking the fields the parity harness relies on; malformed input
raises ValueError naming the file, the line and the problem.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Iterator, List

from jaxzero.games.ringrift.boards import BOARD_NAMES
from jaxzero.games.ringrift.parity.notation import split_digest
from jaxzero.games.ringrift.state import RulesConfig

_GAME_KEYS = ("board", "num_players", "seed", "config", "initial", "steps", "result")
_STEP_KEYS = ("player", "phase", "legal", "move", "bookkeeping", "digest")
_CONFIG_KEYS = ("victory_threshold", "territory_victory_minimum", "swap_rule", "max_moves")


def validate_game(game: dict, where: str = "game") -> dict:
    """Checks one decoded game line; returns it unchanged. ValueError naming the problem."""
    if not isinstance(game, dict):
        raise ValueError(f"{where}: not a JSON object")
    for k in _GAME_KEYS:
        if k not in game:
            raise ValueError(f"{where}: missing key {k!r}")
    if game["board"] not in BOARD_NAMES:
        raise ValueError(f"{where}: unknown board {game['board']!r}")
    if game["num_players"] not in (2, 3, 4):
        raise ValueError(f"{where}: num_players {game['num_players']!r} not in 2..4")
    for k in _CONFIG_KEYS:
        if k not in game["config"]:
            raise ValueError(f"{where}: config lacks {k!r}")
    split_digest(game["initial"])
    if not isinstance(game["steps"], list):
        raise ValueError(f"{where}: steps is not a list")
    for i, s in enumerate(game["steps"]):
        for k in _STEP_KEYS:
            if k not in s:
                raise ValueError(f"{where} step {i}: missing key {k!r}")
        if s["move"] not in s["legal"]:
            raise ValueError(f"{where} step {i}: move {s['move']!r} is not in its legal list")
        if s["bookkeeping"] and len(s["legal"]) != 1:
            raise ValueError(f"{where} step {i}: bookkeeping step with {len(s['legal'])} legal moves")
    return game


def read_games(path, max_games: int | None = None) -> Iterator[dict]:
    """Yields the validated games of one `.jsonl.gz` (or plain `.jsonl`) trace file."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        n = 0
        for lineno, line in enumerate(f, 1):
            if max_games is not None and n >= max_games:
                return
            if not line.strip():
                continue
            try:
                game = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{lineno}: invalid JSON ({e})") from None
            yield validate_game(game, f"{path.name}:{lineno}")
            n += 1


def load_games(path, max_games: int | None = None) -> List[dict]:
    """All (or the first max_games) games of a trace file as a list."""
    return list(read_games(path, max_games))


def game_config(game: dict, reference_compat: bool = True, auto_single: bool = False) -> RulesConfig:
    """The RulesConfig that replays a trace game (the host's move budget included)."""
    cfg = game["config"]
    return RulesConfig(
        board=game["board"],
        num_players=game["num_players"],
        swap_rule=bool(cfg["swap_rule"]),
        reference_compat=reference_compat,
        auto_single=auto_single,
        lps_rounds=int(cfg.get("lps_rounds_required", 3)),
        max_moves=int(cfg["max_moves"]),
    )


def thresholds(game: dict) -> dict:
    """The per-game thresholds of a trace game as State field values."""
    cfg = game["config"]
    return {
        "victory_threshold": int(cfg["victory_threshold"]),
        "territory_minimum": int(cfg["territory_victory_minimum"]),
    }
