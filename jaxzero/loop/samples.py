"""A sample of each iteration's play kept in the workdir: the best net against itself.

After an iteration's checkpoint, `write_samples` plays ``config.loop.sample_games`` games of the
best against itself (the gate's search at the self-play budget, ``gumbel_scale = 0``; each position
also evaluated by the raw net for the replayer's values and top moves) and keeps them in
``<workdir>/games/``: one RingRift game record line each appended to ``records.jsonl``
(`jaxzero.games.ringrift.records`) and the one-file HTML replayer ``iteration_XXXX.html``
(``iteration_XXXX_N.html`` for the N-th game after the first). Games other than RingRift are
skipped (the replayer draws RingRift boards and the records are RingRift's).

The games' key is derived from the config's seed and the iteration alone (``fold_in``), never from
the run's key, so sampling changes nothing of the training: a run with and without samples, or a
killed and resumed one, trains the same nets.
"""

from __future__ import annotations

import datetime as _dt
import json
import time
from pathlib import Path

import jax

from jaxzero import config as config_lib
from jaxzero.replays import append_ringrift_records, play_game, write_game_html
from jaxzero.search.kinds import resolve_kind

AI_TYPES = {"mctx": "gumbel_mcts", "maxn": "maxn", "paranoid": "minimax"}
"""jaxzero's search kinds -> RingRift's `AIType` (its `minimax` is paranoid search)."""

SAMPLE_STREAM = 0x5A3E  # folded into PRNGKey(seed): the samples' own key stream

_PLAYERS: dict[int, object] = {}


def is_sampled(game) -> bool:
    """Whether a game's samples can be kept (RingRift: the replayer and the records need it)."""
    return type(game).__module__.startswith("jaxzero.games.ringrift")


def _player(parts):
    """The jitted deterministic search of the gate arena on one game, ``(states, key) -> actions``
    once bound to params (cached per parts: one compile per process and config)."""
    if id(parts) not in _PLAYERS:
        search = parts.arena._search
        _PLAYERS[id(parts)] = jax.jit(lambda params, states, key: search(params, states, key).action)
    return _PLAYERS[id(parts)]


def sample_key(seed: int, it: int, game: int = 0):
    """The key of game ``game`` of iteration ``it``: PRNGKey(seed) folded with a stream id, the
    iteration and the game (independent of the run's key)."""
    key = jax.random.fold_in(jax.random.PRNGKey(seed), SAMPLE_STREAM)
    return jax.random.fold_in(jax.random.fold_in(key, it), game)


def trim_samples(workdir, start: int) -> int:
    """Drops the record lines of iterations >= ``start`` (and a line torn by a kill) from
    ``<workdir>/games/records.jsonl``, as `MetricsLog.trim` does for metrics on resume: a run resumed
    from an older checkpoint replays those iterations and writes their samples again. Returns the
    number of lines dropped."""
    path = Path(workdir) / "games" / "records.jsonl"
    if not path.exists():
        return 0
    lines = path.read_text().splitlines()
    kept = []
    for line in lines:
        try:
            generation = json.loads(line)["metadata"]["generation"]
        except (ValueError, KeyError, TypeError):
            continue
        if isinstance(generation, int) and generation < start:
            kept.append(line)
    if len(kept) != len(lines):
        tmp = path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(x + "\n" for x in kept))
        tmp.replace(path)
    return len(lines) - len(kept)


def write_samples(parts, cfg, workdir, it: int, best_params, best_name: str) -> dict:
    """Plays and writes iteration ``it``'s sample games of the best (see the module doc); returns
    ``{"samples/games": n, "samples/seconds": s}`` (empty when off or the game is not RingRift)."""
    n = int(cfg.loop.get("sample_games", 1))
    if n <= 0 or not is_sampled(parts.game):
        return {}
    t0 = time.time()
    folder = Path(workdir) / "games"
    search = _player(parts)
    budget, _ = config_lib.search_budgets(cfg)
    kind = resolve_kind(cfg.selfplay.search, parts.game.num_players)
    ai_type = AI_TYPES.get(kind, kind)

    def best(states, key):
        return search(best_params, states, key)

    for g in range(n):
        started = _dt.datetime.now(_dt.timezone.utc)
        rec = play_game(parts.game, best, sample_key(cfg.seed, it, g), apply_fn=parts.model.apply, params=best_params,
                        max_moves=int(cfg.arena.max_moves))
        ended = _dt.datetime.now(_dt.timezone.utc)
        suffix = "" if g == 0 else f"_{g}"
        write_game_html(rec, folder / f"iteration_{it:04d}{suffix}.html",
                        title=f"{parts.game.id}, iteration {it}: {best_name} vs itself, {len(rec.moves)} decisions")
        append_ringrift_records(
            [rec], folder / "records.jsonl", origin="selfplay", players=[best_name] * parts.game.num_players,
            model_id=f"{Path(workdir).name}:{best_name}", iteration=it, seed=int(cfg.seed), ai_type=ai_type,
            search_budget={"simulations": budget["num_simulations"],
                           "consideredActions": budget["max_num_considered_actions"], "search": kind},
            started_at=started.isoformat(), ended_at=ended.isoformat(),
            duration_ms=int((ended - started).total_seconds() * 1000))
    return {"samples/games": n, "samples/seconds": round(time.time() - t0, 2)}

