"""Batched self-play: B games advanced together under one jit, auto-reset, outcome targets.

One move of all B game slots is one search per game (`jaxzero.mesh.per_game`: a vmap over games of
a batch-of-one search, each with its own key); ``lax.scan`` runs a chunk of moves. Every random draw
of a move is keyed per game (the game id folded into the move's key), so a chunk runs on each
device's share of the slots under ``shard_map`` (`mesh_play`) with no communication, and gives the
results of one device. Each step records (obs, improved-policy target, mover, legal mask, game id, done, truncated,
cumulative seat returns). `value_targets` then walks the window backwards (reverse scan) giving every
position the final outcome of its game, rotated so index 0 is the player to move there. Positions of
games that are still running at the end of the window get no value target yet (``value_mask =
False``; they carry a policy target): when their game ends in a later window, `finished_games` gives
its outcome and `jaxzero.replay.label_finished` fills in the targets of its positions already in the
replay buffer. Truncated games never get value targets.

Mixed data: with a ``heuristic`` player, each new game is a heuristic game with probability
``heuristic_share`` (an argument of `play`, so a schedule does not recompile); the heuristic then
plays every seat or one drawn seat (``heuristic_seats``). Every position records its ``source`` (who
chose the move) and whether it gives a policy target (``policy_mask``: search moves always; heuristic
moves only with ``heuristic_policy_target``, as a one-hot of the heuristic's move). All positions of
finished games give value targets.

`PlayerPlay` records games of a network-free player in every seat (no search: the loop's bootstrap
data) in the same `Trajectory` form; both share the per-move bookkeeping `advance`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import chex
import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax.sharding import PartitionSpec as P

from jaxzero import mesh as mesh_lib
from jaxzero.games.outcomes import rank_outcome, rotate_to_mover
from jaxzero.replay import SOURCE_HEURISTIC, SOURCE_SEARCH
from jaxzero.search import SearchBudget, make_search, with_value_prior


@struct.dataclass
class Slots:
    """The B running games: game states plus per-game bookkeeping."""

    state: Any  # batched game state
    moves: jax.Array  # int32[B]: moves played in the current game
    returns: jax.Array  # float32[B, P]: summed seat rewards of the current game
    game_id: jax.Array  # int32[B]: unique id of the current game (slot b runs games b, b+B, b+2B, ...)
    heuristic: jax.Array = None  # bool[B, P]: seats the heuristic plays in the current game (mixed data)


@struct.dataclass
class Trajectory:
    """What self-play records, time-major ``[T, B, ...]``."""

    obs: jax.Array  # [T, B, *obs_shape]: the mover's observation
    policy: jax.Array  # [T, B, A]: improved policy (mctx action_weights)
    mover: jax.Array  # int32[T, B]: seat to move
    legal: jax.Array  # bool[T, B, A]
    game_id: jax.Array  # int32[T, B]
    valid: jax.Array  # bool[T, B]: a real position (a live game)
    done: jax.Array  # bool[T, B]: the move made here ended the game
    truncated: jax.Array  # bool[T, B]: ... by truncation (no outcome)
    returns: jax.Array  # float32[T, B, P]: seat returns of the game so far, after this move
    source: jax.Array = None  # int8[T, B]: who chose this move: SOURCE_SEARCH (0) or SOURCE_HEURISTIC (1)
    heuristic_game: jax.Array = None  # bool[T, B]: the game has at least one heuristic seat
    policy_mask: jax.Array = None  # bool[T, B]: the position gives a policy target
    moves: jax.Array = None  # int32[T, B]: moves played in this game before this position
    # int32[T, B]: nodes of this move's search with more legal moves than the compact search's slots
    # (their moves past the first K unsearched; 0 without search or over all ids)
    legal_overflow: jax.Array = None
    # float32[T, B]: the search's value of this position seen by its mover (`SearchOutput.search_value`;
    # NaN where no search ran: a network-free player's games)
    search_value: jax.Array = None


def init_slots(game, batch_size: int, key) -> Slots:
    """B fresh games."""
    state = jax.vmap(game.init)(jax.random.split(key, batch_size))
    return Slots(
        state=state,
        moves=jnp.zeros((batch_size,), jnp.int32),
        returns=jnp.zeros((batch_size, game.num_players), jnp.float32),
        game_id=jnp.arange(batch_size, dtype=jnp.int32),
        heuristic=jnp.zeros((batch_size, game.num_players), bool),
    )


HEURISTIC_SEATS = ("all", "one")
# a searched position's policy target: the improved policy, or a one-hot of the chosen move
POLICY_TARGETS = ("improved", "chosen")


def check_heuristic_seats(seats: str) -> None:
    """Raises ValueError unless ``seats`` is one of `HEURISTIC_SEATS`."""
    if seats not in HEURISTIC_SEATS:
        raise ValueError(f"heuristic seats must be one of {HEURISTIC_SEATS}, got {seats!r}")


def check_policy_target(target: str) -> None:
    """Raises ValueError unless ``target`` is one of `POLICY_TARGETS`."""
    if target not in POLICY_TARGETS:
        raise ValueError(f"policy target must be one of {POLICY_TARGETS}, got {target!r}")


def draw_heuristic_seats(key, batch_size: int, num_players: int, share, seats: str = "all"):
    """bool[B, P]: for each of B new games, the seats the heuristic plays.

    A game is a heuristic game with probability ``share``; then the heuristic plays every seat
    (``seats="all"``) or one uniformly drawn seat (``"one"``, the others search).
    """
    k_game, k_seat = jax.random.split(key)
    is_h = jax.random.uniform(k_game, (batch_size,)) < share
    if seats == "all":
        chosen = jnp.ones((batch_size, num_players), bool)
    elif seats == "one":
        seat = jax.random.randint(k_seat, (batch_size,), 0, num_players)
        chosen = jnp.arange(num_players)[None, :] == seat[:, None]
    else:
        raise ValueError(f"heuristic seats must be one of {HEURISTIC_SEATS}, got {seats!r}")
    return is_h[:, None] & chosen


def assign_heuristic_seats(slots: Slots, key, share, seats: str = "all") -> Slots:
    """Draws heuristic seats for the games currently in the slots (used when the slots are fresh)."""
    b, p = slots.returns.shape
    return slots.replace(heuristic=draw_heuristic_seats(key, b, p, share, seats))


def _select(pred, on_true, on_false):
    """Per-slot ``where`` over two batched pytrees (pred: bool[B])."""

    def pick(a, b):
        return jnp.where(pred.reshape(pred.shape + (1,) * (a.ndim - 1)), a, b)

    return jax.tree.map(pick, on_true, on_false)


def sample_with_temperature(key, weights, legal, temperature):
    """One action per row drawn from ``weights ** (1 / temperature)`` over legal actions (vmap it
    over per-game keys for draws independent of the batch)."""
    logits = jnp.log(jnp.maximum(weights, 1e-12)) / temperature
    logits = jnp.where(legal, logits, -jnp.inf)
    return jax.random.categorical(key, logits, axis=-1).astype(jnp.int32)


def advance(
    game, slots: Slots, action, policy, policy_mask, source, legal_overflow, search_value, k_step, k_reset,
    max_moves: int, new_seats, num_slots: int | None = None,
):
    """Plays ``action`` in every slot and records the move: ``(slots, Trajectory row)``.

    ``k_step`` and ``k_reset`` are per-slot keys ``[B]`` (the game step's chance, the fresh game).
    A game that ends (terminal, or ``max_moves`` reached: truncated) restarts from a fresh initial
    state with id ``+num_slots`` (the global number of slots, of which these B may be one device's
    share; None: B) and the seat assignment ``new_seats`` (bool[B, P]); the record keeps the
    position before the move, its ``policy`` target, ``policy_mask``, ``source``, the search's
    ``legal_overflow`` (int32[B]) and ``search_value`` (float32[B], NaN: no search) and the returns after it.
    """
    batch = slots.moves.shape[0]
    chex.assert_shape([k_step, k_reset], (batch,))
    gs = slots.state
    live = ~(gs.terminated | gs.truncated)
    nxt = jax.vmap(game.step)(gs, action, k_step)
    returns = slots.returns + nxt.rewards
    moves = slots.moves + 1
    terminated = nxt.terminated
    truncated = ~terminated & (nxt.truncated | (moves >= max_moves))
    done = terminated | truncated
    record = Trajectory(
        obs=jax.vmap(game.observe)(gs),
        policy=policy,
        mover=gs.current_player.astype(jnp.int32),
        legal=gs.legal_action_mask,
        game_id=slots.game_id,
        valid=live,
        done=done,
        truncated=truncated,
        returns=returns,
        source=source,
        heuristic_game=jnp.any(slots.heuristic, axis=1),
        policy_mask=policy_mask,
        moves=slots.moves,
        legal_overflow=legal_overflow,
        search_value=search_value.astype(jnp.float32),
    )
    fresh = jax.vmap(game.init)(k_reset)
    slots = Slots(
        state=_select(done, fresh, nxt),
        moves=jnp.where(done, 0, moves),
        returns=jnp.where(done[:, None], 0.0, returns),
        game_id=jnp.where(done, slots.game_id + (batch if num_slots is None else num_slots), slots.game_id),
        heuristic=jnp.where(done[:, None], new_seats, slots.heuristic),
    )
    return slots, record


def mesh_play(play, mesh, num_replicated: int):
    """``play(*replicated, slots, *rest, num_steps)`` jitted over ``mesh``: the first
    ``num_replicated`` arguments (params) and everything after the slots (key, share) are placed
    replicated, the slots split over ``"data"`` (axis 0), and the outputs come back as ``(slots
    [B] split on axis 0, Trajectory [T, B] split on axis 1)``.

    ``play`` runs under ``jax.shard_map`` on each device's slots (`jaxzero.mesh.shard_games`): every
    random draw of a move is keyed per game (`jaxzero.mesh.game_keys` of the slots' game ids) and
    the search runs per game (`jaxzero.mesh.per_game`), so the compiled program has no cross-device
    collective and N devices give the results of one. Returns the callable (``jitted``: the jitted
    ``(front, slots, rest, kwargs, num_steps)``; ``_cache_size``: compiles so far)."""
    spec_out = (mesh_lib.BATCH, P(None, mesh_lib.DATA))

    def run(front, slots, rest, kwargs, num_steps: int):
        local = mesh_lib.shard_games(lambda f, s, r, kw: play(*f, s, *r, num_steps=num_steps, **kw), mesh,
                                     (mesh_lib.WHOLE, mesh_lib.BATCH, mesh_lib.WHOLE, mesh_lib.WHOLE), spec_out)
        return local(front, slots, rest, kwargs)

    out = (mesh_lib.data_sharding(mesh, 0), mesh_lib.data_sharding(mesh, 1))
    jitted = jax.jit(run, static_argnames="num_steps", out_shardings=out)

    def call(*args, num_steps: int, **kwargs):
        front, slots, rest = args[:num_replicated], args[num_replicated], args[num_replicated + 1:]
        front, rest, kwargs = mesh_lib.replicate((front, rest, kwargs), mesh)
        return jitted(front, mesh_lib.shard_batch(slots, mesh), rest, kwargs, num_steps=num_steps)

    call.jitted = jitted
    call._cache_size = jitted._cache_size
    return call


@dataclasses.dataclass(frozen=True, eq=False)  # hashed by identity: jit's static `self`
class PlayerPlay:
    """Games of one network-free player in every seat (e.g. the heuristic: bootstrap data for the
    first net), recorded like self-play with the player's move as a one-hot policy target (or
    ``target``'s distribution).

    No search runs, so a decision costs only the player (for RingRift's heuristic ~15x less than a
    16-simulation search on CPU). `play` is jitted over a chunk of moves like `SelfPlay.play`.
    """

    game: Any
    player: Any  # batched `(states, key) -> int32 actions [B]` (jaxzero.players)
    max_moves: int = 512
    mesh: Any = None  # jax.sharding.Mesh with axis "data" splitting the game slots (None: one device)
    # `(state) -> float32 [A]` policy target of one position (e.g. the game's `heuristic_policy` at a
    # temperature); None: a one-hot of the move played
    target: Any = None

    def __post_init__(self):
        mesh = self.mesh if self.mesh is not None else mesh_lib.data_mesh(1)
        object.__setattr__(self, "mesh", mesh)
        object.__setattr__(self, "play", mesh_play(self._play, mesh, 0))

    def init_slots(self, batch_size: int, key) -> Slots:
        """B fresh games, every seat played by the player."""
        return init_slots(self.game, batch_size, key).replace(
            heuristic=jnp.ones((batch_size, self.game.num_players), bool)
        )

    def _move(self, slots: Slots, key):
        keys = jax.vmap(lambda k: jax.random.split(k, 3))(mesh_lib.game_keys(key, slots.game_id))
        k_act, k_step, k_reset = keys[:, 0], keys[:, 1], keys[:, 2]
        action = mesh_lib.per_game(self.player)(slots.state, k_act).astype(jnp.int32)
        batch = action.shape[0]
        if self.target is None:
            policy = jax.nn.one_hot(action, self.game.num_actions, dtype=jnp.float32)
        else:
            policy = jax.vmap(self.target)(slots.state).astype(jnp.float32)
        source = jnp.full((batch,), SOURCE_HEURISTIC, jnp.int8)
        no_overflow = jnp.zeros((batch,), jnp.int32)
        no_search = jnp.full((batch,), jnp.nan, jnp.float32)
        return advance(self.game, slots, action, policy, jnp.ones((batch,), bool), source, no_overflow, no_search,
                       k_step, k_reset, self.max_moves, slots.heuristic, batch * mesh_lib.mesh_size(self.mesh))

    def _play(self, slots: Slots, key, num_steps: int):
        """Advances all B slots by ``num_steps`` moves (jitted as ``play``): (slots, Trajectory[T=num_steps, B]).
        Runs on one device's share of the slots (under ``shard_map`` over ``mesh``: `mesh_play`)."""
        chex.assert_rank(slots.moves, 1)

        def body(carry, k):
            return self._move(carry, k)

        slots, traj = jax.lax.scan(body, slots, jax.random.split(key, num_steps))
        chex.assert_shape(traj.policy, (num_steps, slots.moves.shape[0], self.game.num_actions))
        return slots, traj


@dataclasses.dataclass(frozen=True, eq=False)  # hashed by identity: jit's static `self`
class SelfPlay:
    """Self-play for one game, network and search budget; `play` is jitted over a chunk of moves."""

    game: Any
    apply_fn: Any
    num_simulations: int
    max_num_considered_actions: int
    gumbel_scale: float = 1.0
    temperature: float = 1.0
    temperature_moves: int = 0
    max_moves: int = 512
    search: str = "auto"  # jaxzero.search.kinds.SEARCH_KINDS; "auto" = mctx for 2 players, max^n for 3-4
    compact: bool = True  # search over the compact legal list (SearchBudget.compact)
    value_scale: float = 0.1  # scale of the completed Q-values in the improved policy (SearchBudget.value_scale)
    rescale_values: bool = True  # min-max rescale those Q-values to [0, 1] first (SearchBudget.rescale_values)
    # playout-cap randomisation (KataGo): a move is a full search with this probability (drawn once per
    # move for the batch), else a fast search of fast_simulations / fast_considered whose positions
    # give no policy target (policy_mask False; value targets still). 1.0 = every move full (off).
    full_search_prob: float = 1.0
    fast_simulations: int = 16
    fast_considered: int = 8
    # Mixed data: a batched player `(states, key) -> actions` (jaxzero.players) that plays the seats
    # drawn by `draw_heuristic_seats` (share passed to `play` per call); None = search only.
    heuristic: Any = None
    heuristic_seats: str = "all"  # "all": heuristic games are heuristic vs heuristic; "one": one seat
    heuristic_policy_target: bool = False  # heuristic moves give a one-hot policy target (else none)
    policy_target: str = "improved"  # searched moves' target: `POLICY_TARGETS` (config.selfplay.policy_target)
    # Leaf-value prior: `(state) -> float32 [P]` mover-relative values in [-1, 1] (a game's hand-written
    # evaluation, e.g. RingRift's `heuristic_values`) that the search mixes into the network's leaf
    # values with the weight passed to `play` per call (`jaxzero.search.common.with_value_prior`);
    # None = the network's values alone.
    value_prior: Any = None
    mesh: Any = None  # jax.sharding.Mesh with axis "data" splitting the game slots (None: one device)

    @classmethod
    def from_config(cls, game, apply_fn, cfg, heuristic=None, mesh=None, value_prior=None) -> "SelfPlay":
        """The self-play a run config describes (`cfg.selfplay`, `cfg.game.max_moves`, `cfg.mix`);
        `heuristic`: the mixed-data player, None for search-only self-play; `mesh`: the run's mesh;
        `value_prior`: the search's leaf-value prior (see the field), None for the network's alone."""
        sp = cfg.selfplay
        return cls(
            game,
            apply_fn,
            num_simulations=sp.num_simulations,
            max_num_considered_actions=sp.max_num_considered_actions,
            gumbel_scale=sp.gumbel_scale,
            temperature=sp.temperature,
            temperature_moves=sp.temperature_moves,
            max_moves=cfg.game.max_moves,
            search=sp.search,
            compact=sp.compact,
            value_scale=sp.value_scale,
            rescale_values=sp.rescale_values,
            full_search_prob=sp.full_search_prob,
            fast_simulations=sp.fast_simulations,
            fast_considered=sp.fast_considered,
            heuristic=heuristic,
            heuristic_seats=cfg.mix.heuristic_seats,
            heuristic_policy_target=cfg.mix.heuristic_policy_target,
            policy_target=sp.policy_target,
            value_prior=value_prior,
            mesh=mesh,
        )

    def __post_init__(self):
        check_heuristic_seats(self.heuristic_seats)
        check_policy_target(self.policy_target)
        budget = SearchBudget(self.num_simulations, self.max_num_considered_actions, self.gumbel_scale, self.compact,
                              self.value_scale, self.rescale_values)
        game, apply_fn = self.game, self.apply_fn
        if self.value_prior is not None:  # the searches take (params, prior weight)
            game, apply_fn = with_value_prior(game, apply_fn, self.value_prior)
        search = make_search(self.search, game, apply_fn, budget)
        object.__setattr__(self, "_search", search)
        fast = None
        if self.full_search_prob < 1.0:
            fast_budget = SearchBudget(self.fast_simulations, self.fast_considered, self.gumbel_scale, self.compact,
                                       self.value_scale, self.rescale_values)
            fast = make_search(self.search, game, apply_fn, fast_budget)
        object.__setattr__(self, "_fast_search", fast)
        mesh = self.mesh if self.mesh is not None else mesh_lib.data_mesh(1)
        object.__setattr__(self, "mesh", mesh)
        # play(params, slots, key, num_steps, heuristic_share): params, key and share replicated,
        # the slots split over the mesh's "data" axis (see `mesh_play`)
        object.__setattr__(self, "play", mesh_play(self._play, mesh, 1))

    def _move(self, params, slots: Slots, key, heuristic_share, prior_weight):
        game = self.game
        if self.value_prior is not None:
            params = (params, prior_weight)  # the searches' apply (with_value_prior)
        batch = slots.moves.shape[0]
        # every draw of a game from its own key (its game id folded in): independent of the batch's split
        k_games, k_full = jax.random.split(key)
        keys = jax.vmap(lambda k: jax.random.split(k, 6))(mesh_lib.game_keys(k_games, slots.game_id))
        k_search, k_sample, k_step, k_reset, k_heur, k_seats = (keys[:, i] for i in range(6))
        gs = slots.state
        full = jnp.ones((), bool)

        def searched(search):
            def go():
                o = mesh_lib.per_game(lambda s, k: search(params, s, k))(gs, k_search)
                return o.action, o.action_weights, o.legal_overflow, o.search_value

            return go

        if self._fast_search is None:
            chosen, weights, overflow, search_value = searched(self._search)()
        else:
            # one draw per move for the whole batch (the same on every device): a batch-level cond
            # runs only the search it needs
            full = jax.random.uniform(k_full) < self.full_search_prob
            chosen, weights, overflow, search_value = jax.lax.cond(full, searched(self._search),
                                                                 searched(self._fast_search))
        sampled = jax.vmap(sample_with_temperature, in_axes=(0, 0, 0, None))(
            k_sample, weights, gs.legal_action_mask, self.temperature)
        action = jnp.where(slots.moves < self.temperature_moves, sampled, chosen)
        mover = gs.current_player.astype(jnp.int32)
        # the chosen move is the search's (deterministic at gumbel_scale 0), not the temperature sample
        policy = weights if self.policy_target == "improved" else jax.nn.one_hot(chosen, game.num_actions,
                                                                                 dtype=weights.dtype)
        policy_mask = jnp.broadcast_to(full, (batch,))
        if self.heuristic is not None:
            by_heuristic = jnp.take_along_axis(slots.heuristic, mover[:, None], axis=1)[:, 0]
            # batch-level cond (not under vmap): no heuristic work in a move where no slot needs it
            h_action = jax.lax.cond(
                jnp.any(by_heuristic),
                lambda: mesh_lib.per_game(self.heuristic)(gs, k_heur).astype(jnp.int32),
                lambda: jnp.zeros((batch,), jnp.int32),
            )
            action = jnp.where(by_heuristic, h_action, action)
            if self.heuristic_policy_target:
                one_hot = jax.nn.one_hot(h_action, game.num_actions, dtype=weights.dtype)
                policy = jnp.where(by_heuristic[:, None], one_hot, policy)
                policy_mask = policy_mask | by_heuristic
            else:
                policy_mask = policy_mask & ~by_heuristic
            new_seats = jax.vmap(lambda k: draw_heuristic_seats(k, 1, game.num_players, heuristic_share,
                                                                self.heuristic_seats)[0])(k_seats)
        else:
            by_heuristic = jnp.zeros((batch,), bool)
            new_seats = slots.heuristic
        source = jnp.where(by_heuristic, SOURCE_HEURISTIC, SOURCE_SEARCH).astype(jnp.int8)
        # the search ran in every slot, also where the heuristic then moved: its value is the position's
        return advance(
            game, slots, action, policy, policy_mask, source, overflow, search_value, k_step, k_reset, self.max_moves,
            new_seats, batch * mesh_lib.mesh_size(self.mesh),
        )

    def _play(self, params, slots: Slots, key, num_steps: int, heuristic_share=0.0, prior_weight=0.0):
        """Advances all B game slots by ``num_steps`` moves (jitted as ``play``): (slots, Trajectory[T=num_steps, B]).

        ``heuristic_share`` (a traced scalar: changing it does not recompile) is the probability that a
        game starting in this chunk has heuristic seats (needs ``heuristic``); ``prior_weight`` (traced
        too) the weight of ``value_prior`` in the search's leaf values (ignored without one). Runs on
        one device's share of the slots (under ``shard_map`` over ``mesh``: `mesh_play`)."""
        chex.assert_rank(slots.moves, 1)
        chex.assert_shape(slots.heuristic, (slots.moves.shape[0], self.game.num_players))
        heuristic_share = jnp.asarray(heuristic_share, jnp.float32)
        prior_weight = jnp.asarray(prior_weight, jnp.float32)
        chex.assert_shape(prior_weight, ())

        def body(carry, k):
            return self._move(params, carry, k, heuristic_share, prior_weight)

        slots, traj = jax.lax.scan(body, slots, jax.random.split(key, num_steps))
        chex.assert_shape(traj.policy, (num_steps, slots.moves.shape[0], self.game.num_actions))
        return slots, traj


@jax.jit
def value_targets(traj: Trajectory):
    """Mover-relative value targets ``[T, B, P]`` and their mask ``[T, B]`` for a trajectory window.

    A reverse scan carries, per slot, the outcome of the game that ends next in time; a position gets
    it when that game is its own (no game boundary in between). Positions of games unfinished at the
    window's end, or truncated, are masked out (never scored as draws).
    """
    t, b = traj.done.shape
    p = traj.returns.shape[-1]
    chex.assert_shape(traj.returns, (t, b, p))

    def back(carry, x):
        outcome, has = carry
        done, truncated, returns = x
        outcome = jnp.where(done[:, None], rank_outcome(returns), outcome)
        has = jnp.where(done, ~truncated, has)
        return (outcome, has), (outcome, has)

    init = (jnp.zeros((b, p), jnp.float32), jnp.zeros((b,), bool))
    _, (outcome, has) = jax.lax.scan(back, init, (traj.done, traj.truncated, traj.returns), reverse=True)
    values = rotate_to_mover(outcome, traj.mover)
    return values, has & traj.valid


@jax.jit
def finished_games(traj: Trajectory):
    """The games that ended decisively in a window: ``(game_ids int32[T*B], seat_outcomes float32[T*B, P])``.

    One row per position; a row is a game end (the move that terminated the game, not a truncation)
    with that game's id and `rank_outcome` per seat, else id -1. Positions of these games played in
    earlier windows get their value targets from it (`jaxzero.replay.label_finished`).
    """
    t, b = traj.done.shape
    p = traj.returns.shape[-1]
    chex.assert_shape(traj.game_id, (t, b))
    ended = traj.done & ~traj.truncated & traj.valid
    ids = jnp.where(ended, traj.game_id, -1).reshape(t * b)
    return ids, rank_outcome(traj.returns).reshape(t * b, p)


def concat_trajectories(chunks):
    """Joins chunk trajectories along time."""
    return jax.tree.map(lambda *xs: jnp.concatenate(xs, axis=0), *chunks)
