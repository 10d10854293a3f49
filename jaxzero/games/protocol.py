"""The one game interface every game satisfies (pgx's Env API), and `make_game` for pgx envs.

A game is a set of pure, jittable functions over a fixed-shape state pytree:

* ``init(key) -> state``
* ``step(state, action, key) -> state``
* ``observe(state) -> obs`` -- the observation *relative to the player to move*

plus the static ints ``num_actions``, ``num_players`` and the tuple ``observation_shape``.
A state carries at least ``current_player`` (int32), ``legal_action_mask`` (bool[num_actions]),
``rewards`` (float32[num_players], the reward each seat got on the last step), ``terminated`` and
``truncated`` (bool). Every function works on one unbatched state; callers ``jax.vmap`` them.

pgx envs plug in unchanged (their ``state.observation`` is already the mover's view). Other games
(RingRift) implement the protocol themselves and may call `register_game` so ``make_game(name)``
finds them. This module knows nothing of networks or search.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol, runtime_checkable

import jax

Array = jax.Array


@runtime_checkable
class GameState(Protocol):
    """Fields every game state exposes (pgx ``State`` satisfies this)."""

    current_player: Array  # int32 scalar: seat to move
    legal_action_mask: Array  # bool[num_actions]
    rewards: Array  # float32[num_players]: reward of each seat for the last step
    terminated: Array  # bool scalar
    truncated: Array  # bool scalar


@runtime_checkable
class Game(Protocol):
    """A turn-based game as pure functions over one (unbatched) state."""

    @property
    def id(self) -> str: ...

    @property
    def num_actions(self) -> int: ...

    @property
    def num_players(self) -> int: ...

    @property
    def observation_shape(self) -> tuple[int, ...]: ...

    def init(self, key: Array) -> Any: ...

    def step(self, state: Any, action: Array, key: Array) -> Any: ...

    def observe(self, state: Any) -> Array: ...


class PgxGame:
    """Adapts a pgx ``Env`` to `Game` without changing its behaviour."""

    def __init__(self, env):
        self.env = env

    @property
    def id(self) -> str:
        return str(self.env.id)

    @property
    def num_actions(self) -> int:
        return int(self.env.num_actions)

    @property
    def num_players(self) -> int:
        return int(self.env.num_players)

    @property
    def observation_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.env.observation_shape)

    def init(self, key: Array):
        return self.env.init(key)

    def step(self, state, action: Array, key: Array):
        return self.env.step(state, action, key)

    def observe(self, state) -> Array:
        # pgx keeps `state.observation` as the view of `state.current_player`.
        return state.observation

    def __repr__(self) -> str:
        return f"PgxGame({self.id!r})"


_REGISTRY: dict[str, Callable[[], Game]] = {}

# pgx games known to work with the 2-player alternating-move search here (the small ones we test).
PGX_GAMES = ("tic_tac_toe", "connect_four", "othello", "hex", "go_9x9", "gardner_chess", "animal_shogi")


def register_game(name: str, factory: Callable[[], Game]) -> None:
    """Makes ``make_game(name)`` return ``factory()``; for games that are not pgx envs."""
    _REGISTRY[name] = factory


_BUILTIN_REGISTERED = False


def _register_builtin_games() -> None:
    """Registers the non-pgx games shipped with jaxzero (RingRift) on first use; imports them lazily."""
    global _BUILTIN_REGISTERED
    if _BUILTIN_REGISTERED:
        return
    _BUILTIN_REGISTERED = True
    from jaxzero.games.ringrift.env import register as register_ringrift

    register_ringrift()


def available_games() -> tuple[str, ...]:
    """Names `make_game` accepts."""
    _register_builtin_games()
    return tuple(sorted(set(_REGISTRY) | set(PGX_GAMES)))


def make_game(name: str) -> Game:
    """The game called ``name``: a registered game (``ringrift_{square8,hex8}_{2,3,4}p`` built in),
    else the pgx env of that id."""
    _register_builtin_games()
    if name in _REGISTRY:
        return _REGISTRY[name]()
    if name not in PGX_GAMES:
        raise ValueError(f"unknown game {name!r}; known games: {', '.join(available_games())}")
    import pgx

    return PgxGame(pgx.make(name))
