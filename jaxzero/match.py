"""Matches between two players on any protocol game, all games batched: the one match loop of jaxzero.

A player is a pure function `(states, key) -> actions` over a batch of game states (int32 [B]):
`random_player` (`jaxzero.players`), `search_player` (any search of `jaxzero.search` over a
network), a game's own (RingRift's heuristic). The arena (candidate vs best, a net vs random) and
the heuristic anchor (`jaxzero.arena`) and `scripts/arena.py` all play through this module.

Seats: player A sits at agent `g % P` in game g and player B at every other seat, so A sits in
every seat equally often over each group of P consecutive games (P = number of players;
`num_games` must be a multiple of P). The P games of a group start from one initial state and,
with `opening_moves = k`, play the same k uniformly random legal first decisions (so a group plays
one opening with A rotated through every seat, and deterministic players still play different
games in different groups). Play stops when every game has ended or after `max_moves` decisions.
A finished game keeps its final state; the players see the initial position in its place, so a
search never runs on a terminal state (where the rules' bounded loops can run to their caps and
slow the whole vmapped batch down).

Score: A's normalised rank score per game, (rank outcome + 1) / 2 from the seats' summed rewards
(`jaxzero.games.outcomes.rank_outcome`: winner +1, last -1, linear between, ties averaged): 1 for first
place, 0 for last; with 3 players 1 / 0.5 / 0, with 4 players 1 / 2/3 / 1/3 / 0. Equal players
score 0.5 on average. A truncated or unfinished game counts 0.5 and is reported as `truncated`.

Randomness is per game: game g's draws (its group's initial state and opening, the players' keys,
the game's steps) come from keys with g (or its group g // P) folded in, and every player is called
on each game alone (`jaxzero.mesh.per_game`), so a game does not depend on the others in its batch.

Devices: with a ``mesh`` (`jaxzero.mesh`), the games are split over its ``"data"`` axis
(``num_games`` divisible by the device count) under ``shard_map``: each device plays its games to
the end with no communication; the games and scores are those of one device.
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

import chex
import jax
import jax.numpy as jnp
import numpy as np

from jaxzero import distributed
from jaxzero import mesh as mesh_lib
from jaxzero.games.masks import uniform_legal
from jaxzero.games.outcomes import rank_outcome
from jaxzero.players import random_player  # noqa: F401  (re-exported: the match convention's baseline)

Player = Callable[[Any, jax.Array], jax.Array]
# both sides' actions for every game at once: (states, key) -> (A's actions [B], B's actions [B])
Act = Callable[[Any, jax.Array], tuple[jax.Array, jax.Array]]


def wilson_interval(score: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval for a mean score in [0, 1] over ``n`` games."""
    if n <= 0:
        return 0.0, 1.0
    denom = 1 + z * z / n
    centre = (score + z * z / (2 * n)) / denom
    half = z * math.sqrt(score * (1 - score) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def summarize(scores, truncated, num_players: int) -> dict:
    """Mean score with its 95% Wilson interval, truncated count, per-seat means and win share (games
    it finished first alone, with its interval) of the per-game scores of one player who sat at seat
    ``g % num_players`` in game ``g``."""
    scores, truncated = distributed.gather((scores, truncated))  # several processes: every one's games
    scores = np.asarray(scores, np.float64)
    n = scores.shape[0]
    mean = float(scores.mean())
    lo, hi = wilson_interval(mean, n)
    # A alone first (score 1): the learning issue's yardstick with 3-4 players, where 1 / P is fair
    win_share = float((scores >= 1.0 - 1e-6).mean())
    return {
        "score": mean,
        "ci_low": lo,
        "ci_high": hi,
        "games": n,
        "truncated": int(np.asarray(truncated).sum()),
        "seat_scores": [float(scores[r::num_players].mean()) for r in range(num_players)],
        "win_share": win_share,
        "win_share_ci": list(wilson_interval(win_share, n)),
        "per_game": scores.tolist(),
    }


def search_player(search, params) -> Player:
    """A player that plays ``search(params, states, key).action``: e.g. from
    ``jaxzero.search.kinds.make_search`` (use ``gumbel_scale=0`` in its budget for a deterministic search)."""

    def player(states, key):
        return search(params, states, key).action.astype(jnp.int32)

    return player


def players_act(player_a: Player, player_b: Player) -> Act:
    """The `Act` of two independent players (each called on every game, with its own key)."""

    def act(states, key):
        ka, kb = jax.random.split(key)
        return player_a(states, ka), player_b(states, kb)

    return act


def check_num_games(num_games: int, num_players: int) -> None:
    if num_games <= 0 or num_games % num_players:
        raise ValueError(f"num_games ({num_games}) must be a positive multiple of num_players ({num_players})")


class _Match(NamedTuple):
    t: jax.Array  # decisions played (int32 scalar)
    index: jax.Array  # int32 [N] the games' numbers in the whole match (A's seat, the games' keys)
    states: Any  # [N] game states
    returns: jax.Array  # [N, P] summed rewards per seat
    key: jax.Array  # the match's key: each game folds its number in for its own draws
    open_keys: jax.Array  # [N] the opening key of each game's group (one per group of P games)
    fresh: Any  # [N] the initial states, shown to the players in place of finished games


def _specs():
    """The `_Match`'s ``shard_map`` specs: per-game fields split over ``"data"``, the rest whole."""
    b, w = mesh_lib.BATCH, mesh_lib.WHOLE
    return _Match(t=w, index=b, states=b, returns=b, key=w, open_keys=b, fresh=b)


def _where_rows(pred, on_true, on_false):
    """Per game (leading axis): ``on_true`` where ``pred`` else ``on_false``, over a state pytree."""
    return jax.tree.map(lambda x, y: jnp.where(pred.reshape((-1,) + (1,) * (x.ndim - 1)), x, y), on_true, on_false)


def _start(game, key, index) -> _Match:
    """The games numbered ``index`` (int32 [n], any share of a match's games): each group of P
    games (numbers ``g // P``) starts from the initial state and opening key of its group's key."""
    p = game.num_players
    group = index // p
    k_init, k_open, k_loop = jax.random.split(key, 3)
    states = jax.vmap(game.init)(mesh_lib.game_keys(k_init, group))
    returns = jnp.zeros((index.shape[0], p), jnp.float32)
    return _Match(jnp.zeros((), jnp.int32), index, states, returns, k_loop, mesh_lib.game_keys(k_open, group), states)


def _running(m: _Match, max_moves: int) -> jax.Array:
    """[N] games still to be played a decision of."""
    return ~(m.states.terminated | m.states.truncated) & (m.t < max_moves)


def _decide(game, act: Act, opening_moves: int, max_moves: int, m: _Match) -> _Match:
    """One decision in every running game: A's action where A's seat moves, else B's (random in the opening)."""
    p = game.num_players
    key, k_act, k_step = jax.random.split(m.key, 3)
    running = _running(m, max_moves)
    # a finished game is played on from its initial position, and the result thrown away
    seen = _where_rows(running, m.states, m.fresh)
    # each game alone with its own key (jaxzero.mesh.per_game): the same moves in any share of the games
    a, b = mesh_lib.per_game(act)(seen, mesh_lib.game_keys(k_act, m.index))
    seat_a = m.index % p
    action = jnp.where(seen.current_player == seat_a, a, b).astype(jnp.int32)
    if opening_moves:
        group_keys = jax.vmap(lambda k: jax.random.fold_in(k, m.t))(m.open_keys)
        opening = jax.vmap(uniform_legal)(group_keys, seen.legal_action_mask)
        action = jnp.where(m.t < opening_moves, opening, action)
    nxt = jax.vmap(game.step)(seen, action, mesh_lib.game_keys(k_step, m.index))
    states = _where_rows(running, nxt, m.states)
    returns = m.returns + jnp.where(running[:, None], nxt.rewards, 0.0)
    return m._replace(t=m.t + 1, states=states, returns=returns, key=key)


def _scores(m: _Match) -> tuple[jax.Array, jax.Array]:
    """A's per-game normalised rank scores [N] (0.5 where unfinished) and the unfinished flags [N]."""
    p = m.returns.shape[1]
    finished = m.states.terminated
    outcome = jnp.take_along_axis(rank_outcome(m.returns), (m.index % p)[:, None], axis=1)[:, 0]
    return jnp.where(finished, (outcome + 1.0) / 2.0, 0.5), ~finished


def play_games(game, act: Act, key, num_games: int, max_moves: int, opening_moves: int = 0, mesh=None):
    """Plays ``num_games`` games of A vs B to the end (or ``max_moves`` decisions) in one traced loop.

    Traceable (call it inside ``jax.jit``; the players may close over traced params). ``act`` gives
    both sides' actions (`players_act` of two players, or one function computing both, e.g. one
    search traced once for two nets). Returns A's per-game scores [num_games] (float32) and
    unfinished flags [num_games] (bool); see the module docstring for seats, openings and scores.
    ``mesh``: split the games over its ``"data"`` axis under ``shard_map``: each device plays its
    games until they are done, with no communication (every draw is per game), and the games and
    scores are those of one device. ``key`` and whatever ``act`` closes over are replicated.
    """
    check_num_games(num_games, game.num_players)
    if mesh is not None:
        mesh_lib.check_batch("num_games", num_games, mesh)

    def local(key, index):
        m = jax.lax.while_loop(
            lambda m: jnp.any(_running(m, max_moves)),
            lambda m: _decide(game, act, opening_moves, max_moves, m),
            _start(game, key, index),
        )
        return _scores(m)

    run = mesh_lib.shard_games(local, mesh, (mesh_lib.WHOLE, mesh_lib.BATCH), mesh_lib.BATCH)
    scores, unfinished = run(key, jnp.arange(num_games, dtype=jnp.int32))
    chex.assert_shape([scores, unfinished], (num_games,))
    return scores, unfinished


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
    mesh=None,
):
    """Plays `num_games` games of A vs B from Python, ``chunk`` decisions per compiled call; returns A's summary.

    The same games as `play_games` (the players are closed over: every call compiles afresh).
    The summary (`summarize`) has A's mean normalised rank score, its 95% Wilson interval, `games`,
    `truncated`, `seat_scores` (A's mean score by the seat it played) and `per_game`.
    ``progress(decisions, games_running, summary_so_far)`` is called after every chunk if given
    (games still running count 0.5 in ``summary_so_far``). ``mesh``: split the games over its
    ``"data"`` axis (the same games and scores).
    """
    p = game.num_players
    check_num_games(num_games, p)
    if mesh is not None:
        mesh_lib.check_batch("num_games", num_games, mesh)
        key = mesh_lib.replicate(key, mesh)
    act = players_act(player_a, player_b)

    def chunk_local(m):
        def body(m, _):
            return _decide(game, act, opening_moves, max_steps, m), None

        m, _ = jax.lax.scan(body, m, None, length=chunk)
        return m, _running(m, max_steps)

    run = jax.jit(mesh_lib.shard_games(chunk_local, mesh, (_specs(),), (_specs(), mesh_lib.BATCH)))
    start = mesh_lib.shard_games(lambda k, i: _start(game, k, i), mesh, (mesh_lib.WHOLE, mesh_lib.BATCH), _specs())
    m = jax.jit(start)(key, jnp.arange(num_games, dtype=jnp.int32))

    def summary(m):
        return summarize(*_scores(m), p)

    decisions = 0
    while decisions < max_steps:
        m, running = run(m)
        running = int(distributed.gather(running).sum())
        decisions += chunk
        if progress is not None:
            progress(min(decisions, max_steps), int(running), summary(m))
        if int(running) == 0:
            break
    return summary(m)
