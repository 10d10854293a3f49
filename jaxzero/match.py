"""Matches between arbitrary players on any protocol game, all games batched under one jit.

A player is a pure function `(states, key) -> actions` over a batch of game states
(int32 [B]); `random_player` and `policy_player` are generic, a game may supply
its own (RingRift's heuristic). `play_match` seats player A at agent `g % P` in game
g (so seats rotate evenly over every group of P games) and player B at every other
seat, plays until every game has ended or `max_steps` decisions, and scores A per
game from the rank-based rewards: (reward + 1) / 2 (1 win, 0.5 shared, 0 loss;
a truncated or unfinished game counts 0.5 and is reported as `truncated`).
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxzero.arena import _random_action, summarize

Player = Callable[[object, jax.Array], jax.Array]


def random_player(states, key):
    """Uniformly random legal action per game."""
    return _random_action(key, states.legal_action_mask)


def make_match_runner(game, player_a: Player, player_b: Player, num_games: int, chunk: int = 16):
    """Returns (start(key) -> states, run(states, key) -> states) for `num_games` games A vs B."""
    seat_a = jnp.arange(num_games) % game.num_players
    init_v = jax.vmap(game.init)
    step_v = jax.vmap(game.step)

    def body(carry, _):
        states, key = carry
        key, ka, kb, ks = jax.random.split(key, 4)
        act = jnp.where(states.current_player == seat_a, player_a(states, ka), player_b(states, kb))
        nxt = step_v(states, act, jax.random.split(ks, num_games))
        done = states.terminated | states.truncated
        states = jax.tree.map(lambda x, y: jnp.where(done.reshape((-1,) + (1,) * (x.ndim - 1)), x, y), states, nxt)
        return (states, key), None

    @jax.jit
    def run(states, key):
        (states, _), _ = jax.lax.scan(body, (states, key), None, length=chunk)
        return states

    @jax.jit
    def start(key):
        return init_v(jax.random.split(key, num_games))

    return start, run


def play_match(game, player_a: Player, player_b: Player, key, num_games: int, max_steps: int, chunk: int = 16):
    """Plays `num_games` games of A vs B (seats rotated); returns a summary dict for A."""
    if num_games % game.num_players:
        raise ValueError(f"num_games ({num_games}) must be a multiple of num_players ({game.num_players})")
    start, run = make_match_runner(game, player_a, player_b, num_games, chunk)
    k0, key = jax.random.split(key)
    states = start(k0)
    for _ in range(0, max_steps, chunk):
        key, sub = jax.random.split(key)
        states = run(states, sub)
        if bool(jnp.all(states.terminated | states.truncated)):
            break
    seat_a = np.arange(num_games) % game.num_players
    finished = np.asarray(states.terminated)
    rewards = np.asarray(states.rewards)[np.arange(num_games), seat_a]
    return summarize(np.where(finished, (rewards + 1.0) / 2.0, 0.5), ~finished, game.num_players)
