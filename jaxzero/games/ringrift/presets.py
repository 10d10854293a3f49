"""Per-player-count RingRift settings: the one table of the move limits, and the RulesConfig of a
named game (`ringrift_{board}_{players}p` in jaxzero.games.registry, the benchmarks, the run config).
"""

from __future__ import annotations

import dataclasses

from jaxzero.games.ringrift.state import RulesConfig

MAX_MOVES = {2: 600, 3: 900, 4: 1400}
"""Truncation budget per player count (every applied move counts, bookkeeping included)."""


def rules_config(board: str, players: int, **overrides) -> RulesConfig:
    """The self-play rules of ``board`` for ``players``: pie rule with 2 players, single options
    applied automatically, the player count's move limit; ``overrides`` replace any field."""
    cfg = RulesConfig(board=board, num_players=players, swap_rule=(players == 2), auto_single=True,
                      max_moves=MAX_MOVES[players])
    return dataclasses.replace(cfg, **overrides) if overrides else cfg
