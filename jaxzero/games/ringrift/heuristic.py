"""A RingRift heuristic on device: position evaluation and a one-ply greedy player.

Evaluation (`seat_scores`) gives every seat a score from features in the spirit of
RingRift's own heuristic: eliminated rings against the victory threshold, territory
against the territory minimum, controlled stacks and their caps, rings still in
play (in hand and on the board), own markers and line potential (markers with a
same-coloured neighbour along a line axis), buried rings (recovery material), and
victory proximity. `evaluate` turns the scores into one number for a seat: its
score minus the strongest opponent's (2 players: minus the opponent's).

The greedy player (`greedy_action`) applies every legal decision of the seat to
move in one vmapped batch (the legal ids are packed into a fixed-size list, so the
batch shape never changes), evaluates each successor from the mover's point of
view, and picks the best; ties and an `epsilon` share of moves are broken at random.
A decision that ends the game in the mover's favour scores above everything else.
"""

from __future__ import annotations

from typing import Callable, Mapping

import chex
import jax
import jax.numpy as jnp

from jaxzero.games.ringrift.boards import get_board
from jaxzero.games.ringrift.rules.stacks import top_and_cap
from jaxzero.games.ringrift.state import RINGS_PER_PLAYER, RulesConfig, State

DEFAULT_WEIGHTS: Mapping[str, float] = {
    "eliminated": 4.0,  # credited eliminations / threshold
    "territory": 5.0,  # collapsed cells owned / territory minimum
    "stacks": 0.6,  # controlled stacks / 8
    "caps": 0.8,  # sum of controlled cap heights / 18
    "rings_in_play": 1.0,  # own rings in hand or on the board / 18
    "markers": 0.3,  # own markers / 16
    "line_potential": 0.6,  # own markers with an own neighbour along a line axis / 16
    "buried": 0.1,  # own rings buried under other tops / 18
}
WIN_SCORE = 1000.0


def weights_vector(weights: Mapping[str, float] | None = None) -> jax.Array:
    """The weights as a vector in DEFAULT_WEIGHTS order; unknown names are an error."""
    w = dict(DEFAULT_WEIGHTS)
    for k, v in (weights or {}).items():
        if k not in w:
            raise ValueError(f"unknown heuristic weight {k!r}; known: {sorted(w)}")
        w[k] = float(v)
    return jnp.asarray([w[k] for k in DEFAULT_WEIGHTS], jnp.float32)


def seat_features(cfg: RulesConfig, state: State) -> jax.Array:
    """Per-seat feature matrix float32 [P, F] (F = len(DEFAULT_WEIGHTS), absolute seats)."""
    b = get_board(cfg.board)
    n, h, p = b.num_cells, b.max_height, cfg.num_players
    chex.assert_shape(state.rings, (n, h))
    seats = jnp.arange(1, p + 1)
    height = state.height.astype(jnp.int32)
    idx = jnp.arange(h)
    present = idx[None, :] < height[:, None]
    top, cap = top_and_cap(state.rings, state.height)

    ctrl = top[None, :] == seats[:, None]  # [P, N]
    stacks = ctrl.sum(1)
    caps = jnp.sum(jnp.where(ctrl, cap[None, :], 0), axis=1)
    on_board = jnp.sum((state.rings[None, :, :] == seats[:, None, None]) & present[None], axis=(1, 2))
    buried = jnp.sum(
        (state.rings[None, :, :] == seats[:, None, None]) & present[None] & (top[None, :, None] != seats[:, None, None]),
        axis=(1, 2),
    )
    mk = state.marker[None, :] == seats[:, None]  # [P, N]
    # line potential: own markers with an own marker next to them along some line axis (either way)
    axes = jnp.asarray(b.line_axes)
    opp = jnp.asarray(b.opposite)[axes]
    nb = jnp.concatenate([jnp.asarray(b.move_nbrs)[:, axes], jnp.asarray(b.move_nbrs)[:, opp]], axis=1)  # [N, 2A]
    nb_marker = jnp.where(nb >= 0, state.marker[jnp.maximum(nb, 0)], 0)  # [N, 2A]
    paired = jnp.any(nb_marker[None] == seats[:, None, None], axis=2) & mk
    f = jnp.stack(
        [
            state.elim / jnp.maximum(state.victory_threshold, 1),
            state.terr / jnp.maximum(state.territory_minimum, 1),
            stacks / 8.0,
            caps / float(RINGS_PER_PLAYER),
            (state.hand + on_board) / float(RINGS_PER_PLAYER),
            mk.sum(1) / 16.0,
            paired.sum(1) / 16.0,
            buried / float(RINGS_PER_PLAYER),
        ],
        axis=1,
    ).astype(jnp.float32)
    chex.assert_shape(f, (p, len(DEFAULT_WEIGHTS)))
    return f


def seat_scores(cfg: RulesConfig, state: State, weights: jax.Array) -> jax.Array:
    """Weighted feature score per absolute seat, float32 [P]; a decided game scores +-WIN_SCORE."""
    p = cfg.num_players
    s = seat_features(cfg, state) @ weights
    over = state.winner >= 0
    won = jnp.arange(p) == state.winner
    return jnp.where(over, jnp.where(won, WIN_SCORE, -WIN_SCORE), s)


def evaluate(cfg: RulesConfig, state: State, seat: jax.Array, weights: jax.Array) -> jax.Array:
    """Score of `seat` (0-based) minus the strongest opponent's score (a scalar)."""
    s = seat_scores(cfg, state, weights)
    others = jnp.where(jnp.arange(cfg.num_players) == seat, -jnp.inf, s)
    return s[seat] - jnp.max(others)


def max_legal(cfg: RulesConfig) -> int:
    """An upper bound on the number of legal decisions in any state (placements dominate)."""
    n = get_board(cfg.board).num_cells
    return 3 * n + 5


def greedy_action(
    cfg: RulesConfig,
    state: State,
    key: chex.PRNGKey,
    weights: jax.Array,
    epsilon: float = 0.0,
    apply_fn: Callable[[State, jax.Array], State] | None = None,
) -> jax.Array:
    """One-ply greedy decision for one game: int32 action id.

    Applies each legal action (at most `max_legal(cfg)`, packed from the legal mask)
    with `apply_fn` (default: the engine's `apply_move`, one move without the
    bookkeeping loop or a new legal mask, which is all an evaluation needs),
    evaluates the successor for the mover and returns the best action;
    ties are broken uniformly at random and with probability `epsilon` a uniformly
    random legal action is played instead. Vmap over games for a batch.
    """
    mask = state.legal_action_mask
    chex.assert_rank(mask, 1)
    k = max_legal(cfg)
    (cand,) = jnp.nonzero(mask, size=k, fill_value=0)
    valid = jnp.arange(k) < mask.sum()
    mover = state.cur
    if apply_fn is None:
        from jaxzero.games.ringrift.rules.turn import apply_move

        apply_fn = lambda s, a: apply_move(cfg, s, a)  # noqa: E731
    succ = jax.vmap(lambda a: apply_fn(state, a))(cand)
    # the mover's identity persists through a swap: score the seat the same agent now holds
    agent_seat = jnp.where(succ.swapped != state.swapped, 1 - mover, mover) if cfg.num_players == 2 else mover
    vals = jax.vmap(lambda s, seat: evaluate(cfg, s, seat, weights))(succ, jnp.broadcast_to(agent_seat, (k,)))
    k_tie, k_eps, k_rand = jax.random.split(key, 3)
    noise = jax.random.uniform(k_tie, (k,), maxval=1e-4)
    best = jnp.argmax(jnp.where(valid, vals + noise, -jnp.inf))
    rand = jax.random.categorical(k_rand, jnp.where(mask, 0.0, -jnp.inf))
    explore = jax.random.uniform(k_eps) < epsilon
    return jnp.where(explore, rand, cand[best]).astype(jnp.int32)


def make_heuristic_runner(cfg: RulesConfig, batch: int, chunk: int, weights=None, epsilon: float = 0.0):
    """A jitted fn (states, key) -> (states, key, games_finished) playing `chunk` decisions of
    heuristic-vs-heuristic games in every slot (finished games restart), and a `start()`."""
    from jaxzero.games.ringrift.rules import turn as TN

    w = weights_vector(weights)
    init1 = jax.jit(lambda: TN.init(cfg))()
    step_v = jax.vmap(lambda s, a: TN.step(cfg, s, a))
    act_v = jax.vmap(lambda s, k: greedy_action(cfg, s, k, w, epsilon))

    def body(carry, _):
        states, key, done = carry
        key, k1 = jax.random.split(key)
        states = step_v(states, act_v(states, jax.random.split(k1, batch)))
        fin = states.terminated | states.truncated
        states = jax.tree.map(
            lambda a, b: jnp.where(fin.reshape((batch,) + (1,) * (a.ndim - 1)), b, a),
            states,
            jax.tree.map(lambda x: jnp.broadcast_to(x, (batch,) + x.shape), init1),
        )
        return (states, key, done + jnp.sum(fin)), None

    @jax.jit
    def run(states, key):
        (states, key, done), _ = jax.lax.scan(body, (states, key, jnp.int32(0)), None, length=chunk)
        return states, key, done

    def start():
        return jax.tree.map(lambda x: jnp.broadcast_to(x, (batch,) + x.shape), init1)

    return run, start


def bench_heuristic(board: str = "square8", players: int = 2, batch: int = 256, seconds: float = 30.0,
                    chunk: int = 8, seed: int = 0) -> dict:
    """Heuristic-vs-heuristic self-play for ~`seconds` after compiling: games/s and decisions/s."""
    import time

    cfg = RulesConfig(board=board, num_players=players, swap_rule=(players == 2), auto_single=True,
                      max_moves={2: 600, 3: 900, 4: 1400}[players])
    t0 = time.perf_counter()
    run, start = make_heuristic_runner(cfg, batch, chunk)
    states, key = start(), jax.random.PRNGKey(seed)
    states, key, done = run(states, key)
    jax.block_until_ready(done)
    compile_s = time.perf_counter() - t0
    games = steps = 0
    t1 = time.perf_counter()
    while time.perf_counter() - t1 < seconds:
        states, key, done = run(states, key)
        games += int(done)
        steps += batch * chunk
    el = time.perf_counter() - t1
    return {"board": board, "players": players, "batch": batch, "seconds": el, "compile_s": compile_s,
            "games": games, "games_per_s": games / el, "decisions_per_s": steps / el}


def heuristic_player(cfg: RulesConfig, weights=None, epsilon: float = 0.0):
    """A batched player `(states, key) -> actions` playing `greedy_action` in every game."""
    w = weights_vector(weights)

    def player(states, key):
        keys = jax.random.split(key, states.legal_action_mask.shape[0])
        return jax.vmap(lambda s, k: greedy_action(cfg, s, k, w, epsilon))(states, keys)

    return player
