"""The one game interface every game satisfies (pgx's Env API), and the adapter for pgx envs.

A game is a set of pure, jittable functions over a fixed-shape state pytree:

* ``init(key) -> state``
* ``step(state, action, key) -> state``
* ``observe(state) -> obs`` -- the observation *relative to the player to move*

plus the static ints ``num_actions``, ``num_players`` and the tuple ``observation_shape``.
A state carries at least ``current_player`` (int32), ``legal_action_mask`` (bool[num_actions]),
``rewards`` (float32[num_players], the reward each seat got on the last step), ``terminated`` and
``truncated`` (bool). Every function works on one unbatched state; callers ``jax.vmap`` them.

pgx envs plug in unchanged through `PgxGame` (their ``state.observation`` is already the mover's
view). Other games (RingRift) implement the protocol themselves; `jaxzero.games.registry` names
them all. This module knows nothing of particular games, networks or search.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

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
