"""`make_game(name)`: one flat table from game names to factories (pgx's ``make`` style).

The RingRift games ``ringrift_{square8,hex8}_{2,3,4}p`` (rules from
`jaxzero.games.ringrift.presets.rules_config`) and the pgx games known to work with the
2-player search here. Factories import their game lazily, so importing the registry pulls
in neither RingRift nor pgx. `register_game` adds a game that is neither.
"""

from __future__ import annotations

from typing import Callable

from jaxzero.games.protocol import Game, PgxGame

# pgx games known to work with the 2-player alternating-move search here (the small ones we test).
PGX_GAMES = ("tic_tac_toe", "connect_four", "othello", "hex", "go_9x9", "gardner_chess", "animal_shogi")


def _ringrift(board: str, players: int) -> Callable[[], Game]:
    def factory() -> Game:
        from jaxzero.games.ringrift.env import RingRiftEnv
        from jaxzero.games.ringrift.presets import rules_config

        return RingRiftEnv(rules_config(board, players))

    return factory


def _pgx(name: str) -> Callable[[], Game]:
    def factory() -> Game:
        import pgx

        return PgxGame(pgx.make(name))

    return factory


_REGISTRY: dict[str, Callable[[], Game]] = {
    **{f"ringrift_{board}_{p}p": _ringrift(board, p) for board in ("square8", "hex8") for p in (2, 3, 4)},
    **{name: _pgx(name) for name in PGX_GAMES},
}


def register_game(name: str, factory: Callable[[], Game]) -> None:
    """Makes ``make_game(name)`` return ``factory()``."""
    _REGISTRY[name] = factory


def available_games() -> tuple[str, ...]:
    """Names `make_game` accepts."""
    return tuple(sorted(_REGISTRY))


def make_game(name: str) -> Game:
    """A fresh instance of the game called ``name``; ValueError listing the known names otherwise."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown game {name!r}; known games: {', '.join(available_games())}")
    return _REGISTRY[name]()
