"""One game played with the library's players, recorded position by position for replays and play.

`play_game` drives any game of the protocol from the host, one jitted step per decision, with a
batched player per agent (``(states, key) -> actions [B]``, the `jaxzero.match` convention: random,
heuristic, policy or search players all fit; the batch here is one game). With ``apply_fn`` and
``params`` it also records the net's evaluation of every position: the value per seat (the net's
values are mover-relative; they are rotated back to absolute seats) and the policy (softmax of the
legal logits). `write_game_html` turns a RingRift record into the one-file HTML replayer.

For the loop: ``record = play_game(game, [best, best], key, apply_fn=apply_fn, params=params)`` then
``write_game_html(record, workdir / "games" / f"iteration_{it:04d}.html")`` and
``append_ringrift_records([record], workdir / "games" / "records.jsonl", origin="selfplay")``
(`jaxzero.loop.samples` does this each iteration). `read_ringrift_records` reads such a file back:
each line replayed by the rules engine into a `GameRecord` (`jaxzero.games.ringrift.records`).
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any, Callable, List, Sequence

import jax
import jax.numpy as jnp
import numpy as np


@dataclasses.dataclass
class GameRecord:
    """A played game: ``states[t]`` (host dicts of numpy arrays) for t = 0..T, ``actions[t]`` /
    ``moves[t]`` (the action id and its name) played in position t < T, and, when a net was given,
    ``values[t]`` (float [P], absolute seats) and ``policies[t]`` (float [A]) of every position."""

    game: Any
    states: List[dict]
    actions: List[int]
    moves: List[str]
    values: List[np.ndarray] | None
    policies: List[np.ndarray] | None
    rewards: np.ndarray  # the last step's rewards per agent (the outcome of a finished game)
    terminated: bool
    truncated: bool


def _is_ringrift(game) -> bool:
    return type(game).__module__.startswith("jaxzero.games.ringrift")


def move_name(game, state, action: int) -> str:
    """The RingRift notation of an action in a state (other games: ``action N``)."""
    if _is_ringrift(game):
        from jaxzero.games.ringrift.parity.notation import action_to_moves

        names = action_to_moves(game.cfg, state, int(action))
        if names:
            return names[0]
    return f"action {int(action)}"


@functools.lru_cache(maxsize=16)
def step_fn(game):
    """The jitted ``game.step`` (one compile per game object)."""
    return jax.jit(game.step)


@functools.lru_cache(maxsize=16)
def init_fn(game):
    """The jitted ``game.init`` (one compile per game object). Called eagerly instead, a
    ``lax.while_loop`` in the rules (RingRift's territory labels) is traced to a fresh jaxpr and
    compiled afresh on every call, and JAX's primitive cache keeps every one of them: the training
    loop's sample game each iteration grew the process's memory (issue 24)."""
    return jax.jit(game.init)


def host_state(state) -> dict:
    """All fields of one state as numpy arrays (chex dataclasses and pgx states alike)."""
    items = dict(state.items()) if hasattr(state, "items") else {
        f.name: getattr(state, f.name) for f in dataclasses.fields(state)}
    arrays = {k: v for k, v in items.items() if isinstance(v, (jax.Array, np.ndarray))}  # pgx: drop inner structs
    return {k: np.asarray(v) for k, v in jax.device_get(arrays).items()}


def evaluator(game, apply_fn: Callable, params):
    """``evaluate(state) -> (values [P] per absolute seat, policy [A])`` of one unbatched state."""
    try:
        run = _evaluate_fn(game, apply_fn)
    except TypeError:  # an unhashable apply_fn: a compile per call
        run = _evaluate_fn.__wrapped__(game, apply_fn)

    def evaluate(state):
        v, pol = run(params, state)
        return np.asarray(v), np.asarray(pol)

    return evaluate


@functools.lru_cache(maxsize=16)
def _evaluate_fn(game, apply_fn: Callable):
    """The jitted evaluation of `evaluator`, params an argument: one compile per game and network, not
    one per call (the loop's sample game evaluates a new net's positions every iteration)."""

    @jax.jit
    def run(params, state):
        logits, values = apply_fn(params, game.observe(state)[None])
        legal = state.legal_action_mask
        policy = jax.nn.softmax(jnp.where(legal, logits[0], -jnp.inf))
        p = values.shape[-1]
        mover = state.current_player
        absolute = jnp.zeros(p).at[(mover + jnp.arange(p)) % p].set(values[0])  # inverse of rotate_to_mover
        return absolute, policy

    return run


def play_game(game, players: Sequence[Callable] | Callable, key, *, apply_fn: Callable | None = None, params=None,
              max_moves: int | None = None, on_move: Callable | None = None, init_state=None) -> GameRecord:
    """Plays one game: ``players[current_player]`` chooses each decision (one player for every agent
    if a single function is given). ``max_moves`` caps the decisions (default: the game's own end);
    ``on_move(t, state, action)`` is called after each choice (progress, printing)."""
    if callable(players):
        players = [players] * game.num_players
    if len(players) != game.num_players:
        raise ValueError(f"{len(players)} players for a {game.num_players}-player game")
    if (apply_fn is None) != (params is None):
        raise ValueError("give both apply_fn and params to record the net's values and policies, or neither")
    step = step_fn(game)
    evaluate = evaluator(game, apply_fn, params) if apply_fn is not None else None
    key, k0 = jax.random.split(key)
    state = init_state if init_state is not None else init_fn(game)(k0)
    rec = GameRecord(game, [], [], [], [] if evaluate else None, [] if evaluate else None,
                     np.zeros(game.num_players, np.float32), False, False)
    while True:
        host = host_state(state)
        rec.states.append(host)
        if evaluate:
            v, pol = evaluate(state)
            if _is_ringrift(game) and game.num_players == 2 and bool(host["swapped"]):
                v = v[::-1]  # agents -> seats after the pie rule
            rec.values.append(v)
            rec.policies.append(pol)
        done = bool(host["terminated"]) or bool(host["truncated"])
        if done or (max_moves is not None and len(rec.actions) >= max_moves):
            rec.terminated, rec.truncated = bool(host["terminated"]), bool(host["truncated"])
            rec.rewards = np.asarray(host["rewards"])
            return rec
        key, k_player, k_step = jax.random.split(key, 3)
        batched = jax.tree.map(lambda x: x[None], state)
        action = int(np.asarray(players[int(host["current_player"])](batched, k_player))[0])
        if not bool(host["legal_action_mask"][action]):
            raise RuntimeError(f"player {int(host['current_player'])} chose illegal action {action}")
        rec.actions.append(action)
        rec.moves.append(move_name(game, host, action))
        if on_move is not None:
            on_move(len(rec.actions) - 1, host, action)
        state = step(state, jnp.int32(action), k_step)


def write_game_html(record: GameRecord, path, *, title: str | None = None, top_k: int = 5) -> Path:
    """The HTML replayer of a RingRift record (`jaxzero.games.ringrift.replayer.write_replay`)."""
    if not _is_ringrift(record.game):
        raise ValueError(f"the HTML replayer draws RingRift boards; {getattr(record.game, 'id', record.game)} is not one")
    from jaxzero.games.ringrift.replayer import write_replay

    end = "truncated" if record.truncated else "finished" if record.terminated else "stopped"
    title = title or f"{record.game.id}: {len(record.moves)} moves, {end}"
    return write_replay(path, record.states, record.moves, cfg=record.game.cfg, values=record.values,
                        policies=record.policies, title=title, top_k=top_k)


def ringrift_record(record: GameRecord, **metadata) -> dict:
    """The RingRift game record (JSON-ready dict) of a RingRift `GameRecord`; ``metadata`` goes to
    `jaxzero.games.ringrift.records.game_record` (origin, players, model_id, search_budget, ...)."""
    if not _is_ringrift(record.game):
        raise ValueError(f"RingRift game records hold RingRift games; {getattr(record.game, 'id', record.game)} is not one")
    from jaxzero.games.ringrift.records import game_record

    return game_record(record.game.cfg, record.states, record.actions, **metadata)


def append_ringrift_records(games: Sequence[GameRecord], path, **metadata) -> Path:
    """Appends the games as RingRift record lines (JSONL) to ``path``; returns it."""
    from jaxzero.games.ringrift.records import append_records

    return append_records(path, [ringrift_record(g, **metadata) for g in games])


def read_ringrift_records(path) -> List[GameRecord]:
    """The games of a RingRift records file, each replayed by the rules engine (states, actions, move
    names and outcome; no values or policies). `RecordError` names the line and field of a bad record."""
    from jaxzero.games.registry import make_game
    from jaxzero.games.ringrift.env import RingRiftEnv
    from jaxzero.games.ringrift.records import located_records, replay_record

    games, out = {}, []
    for where, rec in located_records(path):
        rep = replay_record(rec, where=where)
        if rep.cfg not in games:
            named = make_game(f"ringrift_{rep.cfg.board}_{rep.cfg.num_players}p")
            games[rep.cfg] = named if named.cfg == rep.cfg else RingRiftEnv(rep.cfg)
        out.append(GameRecord(games[rep.cfg], rep.states, rep.actions, rep.moves, None, None,
                              np.asarray(rep.rewards, np.float32), rep.terminated, rep.truncated))
    return out
