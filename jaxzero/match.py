"""Matches between arbitrary players on any protocol game, all games batched under one jit.

A player is a pure function `(states, key) -> actions` over a batch of game states
(int32 [B]); `random_player`, `search_player` (any search of `jaxzero.search`, e.g. max^n or
paranoid, over a network) are generic, a game may supply its own (RingRift's heuristic).

Seats: `play_match` seats player A at agent `g % P` in game g and player B at every other seat,
so A sits in every seat equally often over each group of P consecutive games (P = number of
players; `num_games` must be a multiple of P). With `opening_moves = k` the first k decisions of
every game are uniformly random legal moves, the same in all P games of a group (so a group plays
one opening with A rotated through every seat, and deterministic players still play different
games in different groups). The game runs until every game has ended or `max_steps` decisions.

Score: A's normalised rank score per game, (reward + 1) / 2 from the game's rank-based terminal
rewards (winner +1, last -1, linear between, ties averaged): 1 for first place, 0 for last; with
3 players 1 / 0.5 / 0, with 4 players 1 / 2/3 / 1/3 / 0. Equal players score 0.5 on average.
A truncated or unfinished game counts 0.5 and is reported as `truncated`.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxzero.arena import summarize
from jaxzero.games.masks import uniform_legal
from jaxzero.players import random_player

Player = Callable[[object, jax.Array], jax.Array]


def search_player(search, params) -> Player:
    """A player that plays ``search(params, states, key).action``: e.g. from
    ``jaxzero.search.maxn.make_search_fn_of_kind`` (use ``gumbel_scale=0`` for a deterministic search)."""

    def player(states, key):
        return search(params, states, key).action.astype(jnp.int32)

    return player


def _where_rows(pred, on_true, on_false):
    """Per game (leading axis): ``on_true`` where ``pred`` else ``on_false``, over a state pytree."""
    return jax.tree.map(lambda x, y: jnp.where(pred.reshape((-1,) + (1,) * (x.ndim - 1)), x, y), on_true, on_false)


def make_match_runner(game, player_a: Player, player_b: Player, num_games: int, chunk: int = 16, opening_moves: int = 0):
    """Returns ``(start(key) -> states, run(states, t, key, open_keys) -> states)`` for `num_games` games A vs B.

    ``run`` plays ``chunk`` decisions from decision index ``t`` (int32 scalar; decisions ``t <
    opening_moves`` are random, drawn from ``open_keys [num_games // P]``, one key per group).
    """
    p = game.num_players
    seat_a = jnp.arange(num_games) % p
    init_v = jax.vmap(game.init)
    step_v = jax.vmap(game.step)

    def body(carry, _):
        states, t, key, open_keys, fresh = carry
        key, ka, kb, ks = jax.random.split(key, 4)
        done = states.terminated | states.truncated
        # Finished games keep their final state, and their actions are discarded; the players see the
        # initial position there instead, so a search never runs on a terminal state (where the rules'
        # bounded loops can run to their caps and slow the whole vmapped batch down).
        seen = _where_rows(done, fresh, states)
        act = jnp.where(states.current_player == seat_a, player_a(seen, ka), player_b(seen, kb))
        if opening_moves:
            # the same random opening in the P games of a group (game g is in group g // P)
            group_keys = jax.vmap(lambda k: jax.random.fold_in(k, t))(open_keys)
            open_a = jax.vmap(uniform_legal)(jnp.repeat(group_keys, p, axis=0), states.legal_action_mask)
            act = jnp.where(t < opening_moves, open_a, act)
        nxt = step_v(states, act, jax.random.split(ks, num_games))
        states = _where_rows(done, states, nxt)
        return (states, t + 1, key, open_keys, fresh), None

    @jax.jit
    def run(states, t, key, open_keys):
        fresh = init_v(jax.random.split(jax.random.PRNGKey(0), num_games))
        (states, *_), _ = jax.lax.scan(body, (states, t, key, open_keys, fresh), None, length=chunk)
        return states

    @jax.jit
    def start(key):
        return init_v(jax.random.split(key, num_games))

    return start, run


def play_match(
    game,
    player_a: Player,
    player_b: Player,
    key,
    num_games: int,
    max_steps: int,
    chunk: int = 16,
    opening_moves: int = 0,
    progress: Callable[[int, int, dict], None] | None = None,
):
    """Plays `num_games` games of A vs B (A in one seat, rotated; B in the others); returns A's summary.

    The summary (`jaxzero.arena.summarize`) has A's mean normalised rank score, its 95% Wilson
    interval, `games`, `truncated`, `seat_scores` (A's mean score by the seat it played) and
    `per_game`. ``progress(decisions, games_running, summary_so_far)`` is called after every chunk if
    given (games still running count 0.5 in ``summary_so_far``).
    """
    p = game.num_players
    if num_games % p:
        raise ValueError(f"num_games ({num_games}) must be a multiple of num_players ({p})")
    start, run = make_match_runner(game, player_a, player_b, num_games, chunk, opening_moves)
    k0, k_open, key = jax.random.split(key, 3)
    open_keys = jax.random.split(k_open, num_games // p)
    states = start(k0)
    seat_a = np.arange(num_games) % p

    def summary(states):
        finished = np.asarray(states.terminated)
        rewards = np.asarray(states.rewards)[np.arange(num_games), seat_a]
        return summarize(np.where(finished, (rewards + 1.0) / 2.0, 0.5), ~finished, p)

    for t in range(0, max_steps, chunk):
        key, sub = jax.random.split(key)
        states = run(states, jnp.int32(t), sub, open_keys)
        running = int(jnp.sum(~(states.terminated | states.truncated)))
        if progress is not None:
            progress(t + chunk, running, summary(states))
        if running == 0:
            break
    return summary(states)
