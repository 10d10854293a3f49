"""Matches of a searching net against a network-free player (the heuristic anchor), on device.

`VsPlayer.match(params, key, num_games)` plays the net (deterministic search, ``gumbel_scale = 0``,
the arena's budget) against a batched player `(states, key) -> actions` (`jaxzero.players`) in
every other seat. Game g puts the net in seat ``g % P`` (seats rotated evenly over each group of P
games, which share one random opening of ``opening_moves`` moves so games differ). Scores, CI and
truncation follow `jaxzero.arena.summarize` (1 win, 0.5 shared or unfinished, 0 loss, rank based
for 3-4 players). One compile per ``num_games``; params are an argument (no recompile per net).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import chex
import jax
import jax.numpy as jnp

from jaxzero.arena import summarize
from jaxzero.games.masks import uniform_legal
from jaxzero.search.maxn import make_search_fn_of_kind
from jaxzero.selfplay import rank_outcome


@dataclasses.dataclass(frozen=True)
class VsPlayer:
    game: Any
    apply_fn: Any
    player: Callable
    num_simulations: int
    max_num_considered_actions: int
    opening_moves: int = 2
    max_moves: int = 512
    search: str = "auto"

    def __post_init__(self):
        search = make_search_fn_of_kind(
            self.search,
            self.game,
            self.apply_fn,
            num_simulations=self.num_simulations,
            max_num_considered_actions=self.max_num_considered_actions,
            gumbel_scale=0.0,
        )
        object.__setattr__(self, "_search", search)
        object.__setattr__(self, "_jit", jax.jit(self._play, static_argnames=("num_games",)))

    def _play(self, params, key, num_games: int):
        game = self.game
        p = game.num_players
        groups = num_games // p
        k_init, k_open, k_loop = jax.random.split(key, 3)
        state = jax.vmap(game.init)(jnp.repeat(jax.random.split(k_init, groups), p, axis=0))
        net_seat = jnp.tile(jnp.arange(p, dtype=jnp.int32), groups)
        open_keys = jax.random.split(k_open, groups)

        def cond(carry):
            t, state, *_ = carry
            return (t < self.max_moves) & ~jnp.all(state.terminated | state.truncated)

        def body(carry):
            t, state, returns, key = carry
            key, k_n, k_p, k_step = jax.random.split(key, 4)
            net_a = self._search(params, state, k_n).action.astype(jnp.int32)
            other_a = self.player(state, k_p).astype(jnp.int32)
            action = jnp.where(state.current_player == net_seat, net_a, other_a)
            group_keys = jax.vmap(lambda k: jax.random.fold_in(jax.random.fold_in(k, t), 7))(open_keys)
            open_a = jax.vmap(uniform_legal)(jnp.repeat(group_keys, p, axis=0), state.legal_action_mask)
            action = jnp.where(t < self.opening_moves, open_a, action)
            done_before = state.terminated | state.truncated
            state = jax.vmap(game.step)(state, action, jax.random.split(k_step, num_games))
            returns = returns + jnp.where(done_before[:, None], 0.0, state.rewards)
            return t + 1, state, returns, key

        returns0 = jnp.zeros((num_games, p), jnp.float32)
        _, state, returns, _ = jax.lax.while_loop(cond, body, (jnp.zeros((), jnp.int32), state, returns0, k_loop))
        finished = state.terminated
        outcome = jnp.take_along_axis(rank_outcome(returns), net_seat[:, None], axis=1)[:, 0]
        score = jnp.where(finished, (outcome + 1.0) / 2.0, 0.5)
        chex.assert_shape(score, (num_games,))
        return score, ~finished

    def match(self, params, key, num_games: int) -> dict:
        """The net vs the player over ``num_games`` games (a multiple of the player count)."""
        if num_games % self.game.num_players:
            raise ValueError(f"num_games ({num_games}) must be a multiple of num_players ({self.game.num_players})")
        return summarize(*self._jit(params, key, num_games=num_games), self.game.num_players)

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other
