"""The closed loop: self-play -> replay -> train -> arena (gate) -> vs random -> checkpoint, per iteration.

`run(config, workdir)` composes the game, network, search, self-play, replay buffer, train step,
arena and checkpoints. Running it again on the same workdir resumes after the last complete
iteration. Outputs in the workdir: ``checkpoints/`` (orbax), ``metrics.jsonl`` (one JSON object per
iteration), ``tb/`` (TensorBoard events) and one log line per iteration.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from tqdm import tqdm

from jaxzero import config as config_lib
from jaxzero import replay
from jaxzero.data_quality import DUPLICATE_WARNING, window_stats, zobrist_hash, zobrist_keys
from jaxzero.arena import Arena
from jaxzero.elo import ANCHOR, EloTable, plot_elo
from jaxzero.match import play_match
from jaxzero.players import heuristic_player_for, random_player
from jaxzero.checkpoint import Checkpointer, install_debug_pause_in_save
from jaxzero.games.registry import make_game
from jaxzero.nn import make_model
from jaxzero.selfplay import (
    SOURCE_HEURISTIC,
    PlayerPlay,
    SelfPlay,
    assign_heuristic_seats,
    batch_mesh,
    concat_trajectories,
    finished_games,
    init_slots,
    shard_batch,
    sharded_play,
    value_targets,
)
from jaxzero.train import init_train_state, make_eval_fn, make_optimizer, make_train_step

METRIC_KEYS = (
    "iteration",
    "games",
    "positions",
    "selfplay_seconds",
    "train_seconds",
    "loss/policy",
    "loss/value",
    "policy_accuracy",
    "arena/score",
    "arena/ci_low",
    "arena/ci_high",
    "promoted",
    "vs_random/score",
    "truncated",
    "arena/truncated",
    "data/heuristic_share",
    "gate/decision",
    "rollback",
    "elo",
    "vs_random/ci_low",
    "vs_random/ci_high",
    "data/duplicate_rate",
    "data/length/mean",
    "data/length/max",
    "data/term/truncated",
    "vs_random/measured_at",
    "value_targets",
    "value_targets_late",
)
# with a heuristic anchor (config.elo.heuristic_games > 0 and a heuristic player)
HEURISTIC_METRIC_KEYS = ("vs_heuristic/score", "vs_heuristic/ci_low", "vs_heuristic/ci_high", "elo/heuristic")
# in the first row of a fresh run with config.bootstrap.num_steps > 0
BOOTSTRAP_METRIC_KEYS = (
    "bootstrap/positions",
    "bootstrap/games",
    "bootstrap/value_targets",
    "bootstrap/play_seconds",
    "bootstrap/train_seconds",
    "bootstrap/loss_policy",
    "bootstrap/loss_value",
    "bootstrap/accuracy",
    "bootstrap/heldout_loss_value",
)


def _debug_pause(phase: str) -> int | None:
    """Iteration at which `JAXZERO_DEBUG_PAUSE=<phase>:<iteration>` asks to stall (kill/resume test)."""
    spec = os.environ.get("JAXZERO_DEBUG_PAUSE", "")
    if spec.startswith(phase + ":"):
        return int(spec.split(":", 1)[1])
    return None


def trajectory_to_batch(traj, values, value_mask, slots: slice) -> replay.Batch:
    """Flattens the [T, B] positions of the given game slots into a replay batch."""

    traj, values, value_mask = _slots_of((traj, values, value_mask), slots)

    def flat(x):
        return x.reshape((-1,) + x.shape[2:])

    return replay.Batch(
        obs=flat(traj.obs),
        policy=flat(traj.policy),
        value=flat(values),
        value_mask=flat(value_mask),
        legal=flat(traj.legal),
        source=flat(traj.source),
        policy_mask=flat(traj.policy_mask),
        game_id=flat(traj.game_id),
        mover=flat(traj.mover),
    )


def _slots_of(tree, slots: slice):
    """The window's positions of the given game slots (every leaf [T, B, ...] -> [T, b, ...])."""
    return jax.tree.map(lambda x: x[:, slots], tree)


def promotion_decision(arena: dict, threshold: float, gate: str = "lcb") -> tuple[bool, str]:
    """(promote, reason) from an arena summary: score >= threshold and, for ``gate="lcb"``, the 95%
    Wilson lower bound above 0.5 (the candidate is better than the best with confidence)."""
    if arena["score"] < threshold:
        return False, f"kept: score {arena['score']:.3f} < threshold {threshold:.2f}"
    if gate == "lcb" and not arena["ci_low"] > 0.5:
        return False, f"kept: ci_low {arena['ci_low']:.3f} <= 0.5 over {arena['games']} games"
    return True, "promoted"


def heuristic_drop(candidate_score: float, best_score: float | None, margin: float) -> bool:
    """True when a promoted candidate scores below the previous best against the heuristic by more
    than ``margin`` (a negative margin, or no previous score, never triggers)."""
    return margin >= 0 and best_score is not None and candidate_score < best_score - margin


def _all_finite(tree) -> bool:
    return all(bool(np.all(np.isfinite(np.asarray(x)))) for x in jax.tree.leaves(tree))


def _heuristic_game_share(traj, slots: slice) -> tuple[float, int]:
    """(share of heuristic games, games) over the games with positions in the given slots of a window."""
    valid = np.asarray(traj.valid[:, slots])
    ids = np.asarray(traj.game_id[:, slots])[valid]
    heur = np.asarray(traj.heuristic_game[:, slots])[valid]
    if ids.size == 0:
        return 0.0, 0
    uniq, first = np.unique(ids, return_index=True)
    return float(heur[first].mean()), int(uniq.size)


class _Parts:
    """Attribute bag for the compiled parts of a run (see `_parts`)."""


# Compiled parts by config (without its `loop` section: run length and checkpoint count do not change
# any traced function). Resuming a run in the same process (a second `Loop` with the same config, as the
# tests do) reuses the jitted self-play, arena and train functions instead of re-tracing and
# re-compiling them all (minutes for RingRift on CPU).
_PARTS_CACHE: dict = {}
_PARTS_CACHE_SIZE = 4


def _parts(cfg, game, config_json: dict) -> dict:
    """The model, optimizer, self-play, arena and train functions of `cfg`, built once per config."""
    key = {k: v for k, v in config_json.items() if k != "loop"}
    key = json.dumps(key, sort_keys=True)
    if key in _PARTS_CACHE:
        return _PARTS_CACHE[key]
    p = _Parts()
    p.game = game
    p.model, params0 = make_model(cfg.net, game, cfg.seed)
    p.optimizer = make_optimizer(cfg.train)
    p.params0 = params0
    sp = cfg.selfplay
    selfplay_budget, eval_budget = config_lib.search_budgets(cfg)
    p.heuristic_name, p.heuristic = heuristic_player_for(game, cfg.heuristic)
    mixing = max(cfg.mix.heuristic_share, cfg.mix.final_share) > 0
    if mixing and p.heuristic is None:
        raise ValueError("config.mix.heuristic_share > 0 needs a heuristic (config.heuristic.player)")
    p.selfplay = SelfPlay.from_config(game, p.model.apply, cfg, heuristic=p.heuristic if mixing else None)
    p.bootstrap_play = PlayerPlay(game, p.heuristic, cfg.game.max_moves) if cfg.bootstrap.num_steps > 0 else None
    p.arena = Arena(
        game,
        p.model.apply,
        **selfplay_budget,
        opening_moves=cfg.arena.opening_moves,
        max_moves=cfg.arena.max_moves,
        search=sp.search,
    )
    # the best's anchor matches may search with a larger budget than self-play and the gate
    p.eval_arena = p.arena if eval_budget == selfplay_budget else dataclasses.replace(p.arena, **eval_budget)
    # the best net vs the heuristic anchor (Elo ladder, rollback check)
    p.vs_heuristic = None
    if p.heuristic is not None and cfg.elo.enabled and cfg.elo.heuristic_games > 0:
        p.vs_heuristic = functools.partial(p.eval_arena.vs_player, player=p.heuristic)
    p.train_step = make_train_step(p.model.apply, p.optimizer, cfg.train.value_loss_weight)
    p.evaluate = make_eval_fn(p.model.apply, cfg.train.value_loss_weight)
    out = dict(vars(p))
    if len(_PARTS_CACHE) >= _PARTS_CACHE_SIZE:
        _PARTS_CACHE.pop(next(iter(_PARTS_CACHE)))
    _PARTS_CACHE[key] = out
    return out


class Loop:
    """Everything one training run needs, built once (compiled functions are reused across iterations)."""

    def __init__(self, cfg, workdir, *, progress: bool = True, log=None):
        cfg = config_lib.fill_defaults(cfg)  # keys added since the config was written get their defaults
        config_lib.validate(cfg)
        self.cfg = cfg
        self.workdir = Path(workdir)
        self.progress = progress
        self.log = log or (lambda s: print(s, flush=True))
        self.game = game = make_game(cfg.game.name)
        config_lib.validate(cfg, game)
        self.config_json = config_lib.to_json(cfg)
        parts = _parts(cfg, game, self.config_json)
        for name, value in parts.items():
            setattr(self, name, value)
        self.buffer = None  # the replay buffer after the last iteration (for inspection)
        self.zobrist_keys = zobrist_keys(game.observation_shape)  # fixed: hashes compare across runs

    # -- state that is checkpointed -------------------------------------------------------------
    def initial_state(self) -> dict:
        ts = init_train_state(self.params0, self.optimizer)
        return {
            "candidate": ts.params,
            "opt_state": ts.opt_state,
            "step": ts.step,
            "best": self.params0,
            "iteration": jnp.asarray(-1, jnp.int32),
            "rng": jax.random.key_data(jax.random.key(self.cfg.seed)),
        }

    def _metrics_path(self) -> Path:
        return self.workdir / "metrics.jsonl"

    def _trim_metrics(self, last_iteration: int) -> None:
        """Keeps metrics.jsonl consistent with the checkpoints: one line per saved iteration, in order."""
        path = self._metrics_path()
        if not path.exists():
            return
        rows = {}
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a kill
            if isinstance(row, dict) and isinstance(row.get("iteration"), int) and row["iteration"] <= last_iteration:
                rows[row["iteration"]] = row
        tmp = path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(json.dumps(rows[k]) + "\n" for k in sorted(rows)))
        os.replace(tmp, path)

    # -- one iteration ----------------------------------------------------------------------------
    def _play_window(self, play, slots, key, num_steps: int, desc: str):
        """``num_steps`` moves of every slot, ``selfplay.chunk_steps`` per compiled call of
        ``play(slots, key) -> (slots, Trajectory)``: ``(slots, Trajectory[num_steps, B])``."""
        chunk = self.cfg.selfplay.chunk_steps
        chunks = []
        for k in tqdm(range(num_steps // chunk), desc=desc, unit="chunk", disable=not self.progress, leave=False,
                      file=sys.stderr):
            slots, traj = play(slots, jax.random.fold_in(key, k))
            chunks.append(traj)
        return slots, concat_trajectories(chunks)

    def _train_steps(self, ts, buffer, key, num_steps: int, desc: str | None = None):
        """``num_steps`` train steps from Python (one jitted step, fixed batch shape): ``(ts, [metrics])``."""
        step_metrics = []
        for s in tqdm(range(num_steps), desc=desc, unit="step", disable=desc is None or not self.progress,
                      leave=False, file=sys.stderr):
            ts, m = self.train_step(ts, buffer, jax.random.fold_in(key, s), self.cfg.train.batch_size)
            step_metrics.append(m)
        return ts, jax.device_get(step_metrics)

    def _self_play(self, params, slots, key, iteration, share):
        sp = self.cfg.selfplay
        share = jnp.asarray(share, jnp.float32)

        def play(slots, k):
            return self._play(params, slots, k, num_steps=sp.chunk_steps, heuristic_share=share)

        slots, traj = self._play_window(play, slots, key, sp.num_steps, f"self-play it {iteration}")
        if self._play is not self.selfplay.play:
            # gather the sharded batch onto one device (a transfer, no collective) for replay/training
            traj = jax.device_put(traj, jax.devices()[0])
        values, value_mask = value_targets(traj)
        jax.block_until_ready(value_mask)
        return slots, traj, values, value_mask

    def _bootstrap(self, ts, buffer, key):
        """Heuristic games without search fill the buffer and the candidate trains on them (config.bootstrap).

        Returns ``(train state, buffer, metrics)``; the caller makes the trained net the first best.
        """
        cfg, b = self.cfg, self.cfg.bootstrap
        k_slots, k_play, k_train = jax.random.split(key, 3)
        t0 = time.time()
        slots = self.bootstrap_play.init_slots(b.batch_size, k_slots)
        chunk = cfg.selfplay.chunk_steps
        _, traj = self._play_window(lambda sl, k: self.bootstrap_play.play(sl, k, num_steps=chunk), slots, k_play,
                                    b.num_steps, "bootstrap: heuristic games")
        values, value_mask = value_targets(traj)
        train = slice(0, b.batch_size - b.holdout_slots)
        data = trajectory_to_batch(traj, values, value_mask, train)
        # id -1: games still running at the end are never labelled by a self-play game of the same id
        buffer = replay.add(buffer, data.replace(game_id=jnp.full_like(data.game_id, -1)))
        jax.block_until_ready(buffer)
        play_seconds = time.time() - t0
        t0 = time.time()
        ts, step_metrics = self._train_steps(ts, buffer, k_train, b.train_steps, "bootstrap: training")
        step_metrics = step_metrics[-64:]  # the losses of the last steps
        train_seconds = time.time() - t0
        ev = {}
        if b.holdout_slots:
            held = trajectory_to_batch(traj, values, value_mask, slice(b.batch_size - b.holdout_slots, b.batch_size))
            ev = jax.device_get(self.evaluate(ts.params, held))
        nan = float("nan")
        metrics = {
            "bootstrap/positions": int(np.prod(traj.done[:, train].shape)),
            "bootstrap/games": int(np.asarray(traj.done[:, train]).sum()),
            "bootstrap/value_targets": int(np.asarray(value_mask[:, train]).sum()),
            "bootstrap/play_seconds": round(play_seconds, 3),
            "bootstrap/train_seconds": round(train_seconds, 3),
            "bootstrap/loss_policy": float(np.mean([m["loss/policy"] for m in step_metrics])),
            "bootstrap/loss_value": float(np.mean([m["loss/value"] for m in step_metrics])),
            "bootstrap/accuracy": float(ev.get("policy_accuracy", nan)),  # top-1 agreement with the heuristic
            "bootstrap/heldout_loss_value": float(ev.get("loss/value", nan)),
        }
        if not (_all_finite([m["loss/total"] for m in step_metrics]) and _all_finite(ts.params)):
            raise FloatingPointError("bootstrap training gave a non-finite loss or params; nothing was saved")
        self.log(
            f"bootstrap | {metrics['bootstrap/games']} heuristic games, {metrics['bootstrap/positions']} positions "
            f"in {play_seconds:.1f}s | {b.train_steps} train steps in {train_seconds:.1f}s | loss p "
            f"{metrics['bootstrap/loss_policy']:.3f} v {metrics['bootstrap/loss_value']:.3f} | held-out agreement "
            f"with the heuristic {metrics['bootstrap/accuracy']:.2f}"
        )
        return ts, buffer, metrics

    def _recent_bests_from_checkpoints(self, ckpt, abstract, current_name) -> list:
        """[(name, params)] of earlier distinct bests still held by the kept checkpoints (oldest first)."""
        out = []
        for i in ckpt.all_iterations()[:-1]:
            st, _, m = ckpt.restore(i, abstract)
            name = m.get("best_from")
            if name and name != current_name and all(n != name for n, _ in out):
                out.append((name, st["best"]))
        return out

    def _anchors(self, it, best, best_name, recent, k_rand, k_heur, k_bests, table, cand_vs_h=None):
        """The best net vs uniform random, the heuristic and recent bests; results go into the Elo table."""
        cfg = self.cfg
        out = {"vs_random": self.eval_arena.vs_random(best, k_rand, cfg.arena.vs_random_games)}
        out["vs_random_raw"] = self.eval_arena.vs_random_raw_policy(best, k_rand, cfg.arena.vs_random_games)
        table.add(it, best_name, ANCHOR, out["vs_random"]["score"] * out["vs_random"]["games"], out["vs_random"]["games"])
        if self.vs_heuristic is not None:
            vh = cand_vs_h if cand_vs_h is not None else self.vs_heuristic(best, key=k_heur, num_games=cfg.elo.heuristic_games)
            out["vs_heuristic"] = vh
            table.add(it, best_name, self.heuristic_name, vh["score"] * vh["games"], vh["games"])
            if cfg.elo.anchor_games > 0 and not table.has_pair(self.heuristic_name, ANCHOR):
                # once per run: heuristic vs random ties the two anchors together
                hr = play_match(self.game, self.heuristic, random_player, jax.random.fold_in(k_heur, 1),
                                cfg.elo.anchor_games, cfg.arena.max_moves)
                table.add(it, self.heuristic_name, ANCHOR, hr["score"] * hr["games"], hr["games"])
                out["heuristic_vs_random"] = hr
        if cfg.elo.enabled and cfg.elo.num_games > 0:
            out["vs_bests"] = {}
            for j, (name, params) in enumerate(recent[-cfg.elo.recent_bests:] if cfg.elo.recent_bests else []):
                r = self.eval_arena.match(best, params, jax.random.fold_in(k_bests, j), cfg.elo.num_games)
                table.add(it, best_name, name, r["score"] * r["games"], r["games"])
                out["vs_bests"][name] = r["score"]
        return out

    def run(self) -> list[dict]:
        """Runs (or resumes) the loop up to ``loop.num_iterations``; returns this call's metrics rows."""
        cfg = self.cfg
        run_start = time.time()
        self.workdir.mkdir(parents=True, exist_ok=True)
        ckpt = Checkpointer(self.workdir / "checkpoints", cfg.loop.max_to_keep)
        ckpt.check_config(self.config_json)  # refuse before anything is written
        state = self.initial_state()
        abstract = jax.eval_shape(lambda: state)
        latest = ckpt.latest_iteration()
        last_metrics = {}
        recent = []  # [(name, params)] of earlier bests for the Elo ladder
        if latest is not None:
            state, _, last_metrics = ckpt.restore(latest, abstract)
            self.log(f"resuming from checkpoint of iteration {latest} in {ckpt.directory}")
            self._trim_metrics(latest)
            if cfg.elo.enabled and cfg.elo.recent_bests:
                recent = self._recent_bests_from_checkpoints(ckpt, abstract, last_metrics.get("best_from", "init"))
        else:
            self._trim_metrics(-1)
        start = int(state["iteration"]) + 1
        save_pause = _debug_pause("save")
        if save_pause is not None:
            install_debug_pause_in_save(save_pause)

        from jaxzero.train import TrainState

        ts = TrainState(params=state["candidate"], opt_state=state["opt_state"], step=jnp.asarray(state["step"]))
        best = state["best"]
        best_name = last_metrics.get("best_from", "init")  # Elo name of the best: the iteration it was promoted at
        best_vs_h = last_metrics.get("vs_heuristic/score")  # the best's last score vs the heuristic
        last_good, last_good_it = state, (latest if latest is not None else -1)  # what a rollback restores
        table = EloTable(self.workdir / "elo.json", cfg.game.name)
        table.trim(start - 1)
        key = jax.random.wrap_key_data(jnp.asarray(state["rng"], jnp.uint32))
        game = self.game
        sp = cfg.selfplay
        buffer = replay.init_buffer(cfg.replay.capacity, game.observation_shape, game.num_actions, game.num_players)
        key, k_slots = jax.random.split(key)
        slots = init_slots(game, sp.batch_size, k_slots)
        if self.selfplay.heuristic is not None:
            slots = assign_heuristic_seats(slots, jax.random.fold_in(k_slots, 1), config_lib.heuristic_share(cfg, start),
                                           cfg.mix.heuristic_seats)
        bootstrap_metrics = {}
        if start == 0 and cfg.bootstrap.num_steps > 0:
            # a fresh run: the heuristic's games train the first best (see config.bootstrap)
            key, k_boot = jax.random.split(key)
            ts, buffer, bootstrap_metrics = self._bootstrap(ts, buffer, k_boot)
            best, best_name = ts.params, "bootstrap"
            last_good = dict(last_good, candidate=ts.params, opt_state=ts.opt_state, step=ts.step, best=best)
        self._play = self.selfplay.play
        if jax.device_count() > 1 and sp.batch_size % jax.device_count() == 0:
            # data-parallel self-play: each device runs its slice of the game slots (shard_map)
            mesh = batch_mesh()
            slots = shard_batch(slots, mesh)
            self._play = sharded_play(self.selfplay, mesh)
        train_slots = slice(0, sp.batch_size - sp.holdout_slots)
        holdout_slots = slice(sp.batch_size - sp.holdout_slots, sp.batch_size)

        from tensorboardX import SummaryWriter

        writer = SummaryWriter(str(self.workdir / "tb"))
        rows = []
        anchors_of = None  # (best name, iteration measured, anchors) of the best's last anchor matches
        try:
            for it in range(start, cfg.loop.num_iterations):
                key, k_sp, k_train, k_arena, k_rand = jax.random.split(key, 5)
                k_heur, k_bests = jax.random.split(jax.random.fold_in(k_arena, 1))
                if _debug_pause("selfplay") == it:
                    print(f"DEBUG_PAUSE selfplay {it}", flush=True)
                    time.sleep(3600)

                # 1. self-play with the best net (a scheduled share of games with heuristic seats)
                share_target = config_lib.heuristic_share(cfg, it) if self.selfplay.heuristic is not None else 0.0
                t0 = time.time()
                slots, traj, values, value_mask = self._self_play(best, slots, k_sp, it, share_target)
                selfplay_seconds = time.time() - t0
                games = int(np.asarray(traj.done[:, train_slots]).sum())
                truncated = int(np.asarray(traj.truncated[:, train_slots]).sum())  # games ended by max_moves
                heur_share, games_seen = _heuristic_game_share(traj, train_slots)
                quality = window_stats(traj, zobrist_hash(traj.obs, self.zobrist_keys), train_slots)
                new_data = trajectory_to_batch(traj, values, value_mask, train_slots)
                if it == cfg.debug.poison_iteration:  # fault injection (tests): NaN observations
                    new_data = new_data.replace(obs=jnp.full(new_data.obs.shape, jnp.nan, jnp.float32))
                buffer_before = buffer
                # games that end in this window give value targets to their positions from earlier windows
                buffer, late_targets = replay.label_finished(buffer, *finished_games(_slots_of(traj, train_slots)))
                buffer = replay.add(buffer, new_data)
                positions = int(np.prod(traj.done[:, train_slots].shape))
                valid = np.asarray(traj.valid[:, train_slots])
                by_heur = np.asarray(traj.source[:, train_slots])[valid] == SOURCE_HEURISTIC
                heur_positions = float(by_heur.mean()) if by_heur.size else 0.0

                # 2. train the candidate from Python (one jitted step, fixed batch shape)
                t0 = time.time()
                ts, step_metrics = self._train_steps(ts, buffer, k_train, cfg.train.steps_per_iteration)
                train_seconds = time.time() - t0
                train_means = {k: float(np.mean([m[k] for m in step_metrics])) for k in step_metrics[0]}

                rollback_reason = None
                nonfinite = not (_all_finite([m["loss/total"] for m in step_metrics]) and _all_finite(ts.params))
                if nonfinite and cfg.rollback.on_nonfinite:
                    rollback_reason = "non-finite training loss"

                # 3. held-out positions (game slots never added to the buffer)
                ev = {}
                if sp.holdout_slots and rollback_reason is None:
                    held = trajectory_to_batch(traj, values, value_mask, holdout_slots)
                    ev = jax.device_get(self.evaluate(ts.params, held))

                # 4. arena: candidate vs best, seats swapped; the gate promotes on score >= threshold
                #    (and, with gate "lcb", a 95% Wilson lower bound > 0.5)
                t0 = time.time()
                arena, cand_vs_h = None, None
                promoted, decision = False, f"rolled back: {rollback_reason}"
                prev_best_name, prev_best = best_name, best
                if rollback_reason is None:
                    arena = self.arena.match(ts.params, best, k_arena, cfg.arena.num_games)
                    promoted, decision = promotion_decision(arena, cfg.arena.promotion_threshold, cfg.arena.gate)
                    if promoted and self.vs_heuristic is not None:
                        cand_vs_h = self.vs_heuristic(ts.params, key=k_heur, num_games=cfg.elo.heuristic_games)
                        margin = cfg.rollback.heuristic_margin
                        if heuristic_drop(cand_vs_h["score"], best_vs_h, margin):
                            rollback_reason = (
                                f"score vs heuristic {cand_vs_h['score']:.3f} < previous best's {best_vs_h:.3f} "
                                f"- margin {margin}"
                            )
                            promoted, decision, cand_vs_h = False, f"rolled back: {rollback_reason}", None
                    if promoted:
                        best = ts.params
                        best_name = f"it{it}"
                        if cfg.elo.enabled and cfg.elo.recent_bests:
                            recent = (recent + [(prev_best_name, prev_best)])[-cfg.elo.recent_bests:]
                if rollback_reason is not None:
                    # restore the previous best: params + optimizer state of the last good checkpoint;
                    # this iteration's (suspect) self-play data leaves the buffer again
                    ts = TrainState(params=last_good["best"], opt_state=last_good["opt_state"],
                                    step=jnp.asarray(last_good["step"]))
                    best = last_good["best"]
                    if nonfinite:
                        buffer = buffer_before

                # 5. anchors and Elo: the best vs uniform random, the heuristic and recent bests, measured
                #    when a net becomes the best (an unchanged best keeps its numbers unless
                #    arena.remeasure_best: re-playing the same net only re-samples the noise)
                if anchors_of is None or anchors_of[0] != best_name or cfg.arena.remeasure_best:
                    anchors = self._anchors(it, best, best_name, recent, k_rand, k_heur, k_bests, table, cand_vs_h)
                    anchors_of = (best_name, it, anchors)
                anchors, anchors_it = anchors_of[2], anchors_of[1]
                if promoted and arena is not None:
                    # the arena game results rate the new best against the one it replaced
                    table.add(it, best_name, prev_best_name, arena["score"] * arena["games"], arena["games"])
                arena_seconds = time.time() - t0
                vs_random, vs_random_raw = anchors["vs_random"], anchors["vs_random_raw"]
                if "vs_heuristic" in anchors:
                    best_vs_h = anchors["vs_heuristic"]["score"]
                ratings, errors = table.fit(cfg.elo.prior) if cfg.elo.enabled else ({}, {})

                nan = float("nan")
                metrics = {
                    "iteration": it,
                    "game": cfg.game.name,
                    "games": games,
                    "truncated": truncated,
                    "positions": positions,
                    "value_targets": int(np.asarray(value_mask[:, train_slots]).sum()),
                    # positions of earlier windows whose game ended in this one
                    "value_targets_late": int(late_targets),
                    "policy_targets": int(np.asarray(traj.policy_mask[:, train_slots]).sum()),
                    "data/heuristic_share": heur_share,  # share of this window's games with heuristic seats
                    "data/heuristic_share_target": share_target,  # the scheduled share
                    "data/heuristic_positions": heur_positions,  # share of positions whose move the heuristic chose
                    "data/games_seen": games_seen,
                    "selfplay_seconds": round(selfplay_seconds, 3),
                    "train_seconds": round(train_seconds, 3),
                    "arena_seconds": round(arena_seconds, 3),
                    "loss/policy": train_means["loss/policy"],
                    "loss/value": train_means["loss/value"],
                    "grad_norm": train_means["grad_norm"],
                    "policy_accuracy": float(ev.get("policy_accuracy", nan)),
                    "heldout/loss_policy": float(ev.get("loss/policy", nan)),
                    "heldout/loss_value": float(ev.get("loss/value", nan)),
                    "arena/score": arena["score"] if arena else None,
                    "arena/ci_low": arena["ci_low"] if arena else None,
                    "arena/ci_high": arena["ci_high"] if arena else None,
                    "arena/games": arena["games"] if arena else 0,
                    "arena/truncated": arena["truncated"] if arena else 0,
                    "promoted": bool(promoted),
                    "gate/rule": cfg.arena.gate,
                    "gate/threshold": cfg.arena.promotion_threshold,
                    "gate/decision": decision,
                    "rollback": rollback_reason is not None,
                    "rollback/reason": rollback_reason,
                    "rollback/restored_from": last_good_it if rollback_reason is not None else None,
                    "best_from": best_name,
                    "vs_random/score": vs_random["score"],
                    "vs_random/ci_low": vs_random["ci_low"],
                    "vs_random/ci_high": vs_random["ci_high"],
                    "vs_random/games": vs_random["games"],
                    "vs_random/truncated": vs_random["truncated"],
                    "vs_random_raw_policy/score": vs_random_raw["score"],
                    "vs_random/measured_at": anchors_it,  # iteration whose matches gave the anchor scores
                    "elo": ratings.get(best_name),
                    "elo/se": errors.get(best_name),
                    "elo/anchor": ANCHOR,
                    "buffer_size": int(buffer.size),
                    "train_step": int(ts.step),
                    "elapsed_seconds": round(time.time() - run_start, 1),  # since this process started the loop
                }
                metrics.update(quality)
                if bootstrap_metrics:
                    metrics.update(bootstrap_metrics)
                    bootstrap_metrics = {}
                metrics["data/duplicate_warning"] = quality["data/duplicate_rate"] > DUPLICATE_WARNING
                if "vs_heuristic" in anchors:
                    vh = anchors["vs_heuristic"]
                    metrics.update({
                        "vs_heuristic/score": vh["score"],
                        "vs_heuristic/ci_low": vh["ci_low"],
                        "vs_heuristic/ci_high": vh["ci_high"],
                        "vs_heuristic/games": vh["games"],
                        "vs_heuristic/truncated": vh["truncated"],
                        "vs_heuristic/player": self.heuristic_name,
                        "elo/heuristic": ratings.get(self.heuristic_name),
                    })
                if "heuristic_vs_random" in anchors:
                    metrics["heuristic_vs_random/score"] = anchors["heuristic_vs_random"]["score"]
                for name, score in anchors.get("vs_bests", {}).items():
                    metrics[f"vs_best/{name}/score"] = score
                    metrics[f"elo/{name}"] = ratings.get(name)

                # 6. checkpoint (committed before the metrics line is appended)
                state = {
                    "candidate": ts.params,
                    "opt_state": ts.opt_state,
                    "step": ts.step,
                    "best": best,
                    "iteration": jnp.asarray(it, jnp.int32),
                    "rng": jax.random.key_data(key),
                }
                ckpt.save(it, state, self.config_json, metrics)
                last_good, last_good_it = state, it
                with open(self._metrics_path(), "a") as f:
                    f.write(json.dumps(metrics) + "\n")
                if cfg.elo.enabled:
                    table.save()
                    if cfg.elo.plot:
                        plot_elo({self.workdir.name: self._read_rows()}, self.workdir / "elo.png",
                                 title=f"{cfg.game.name}: Elo of the best (uniform random = 0)")
                for k, v in metrics.items():
                    if k != "iteration" and isinstance(v, (int, float, bool)) and v is not None:
                        writer.add_scalar(k, float(v), it)
                writer.flush()
                rows.append(metrics)
                self.buffer = buffer
                a_txt = (f"arena {arena['score']:.2f} [{arena['ci_low']:.2f},{arena['ci_high']:.2f}]" if arena
                         else "arena skipped")
                elo_txt = f" | elo {metrics['elo']:.0f}" if metrics["elo"] is not None else ""
                dup = quality["data/duplicate_rate"]
                dup_txt = (f" dup {dup:.0%}" + (f" (WARNING: duplicates > {DUPLICATE_WARNING:.0%})"
                                                if dup > DUPLICATE_WARNING else ""))
                if rollback_reason is not None:
                    decision = f"ROLLBACK to the best of iteration {metrics['rollback/restored_from']}: {rollback_reason}"
                vh_txt = f" heuristic {metrics['vs_heuristic/score']:.2f}" if "vs_heuristic/score" in metrics else ""
                self.log(
                    f"it {it:3d} | games {games:4d} (trunc {truncated}, heur {heur_share:.2f}) pos {positions:6d}"
                    f"{dup_txt} | "
                    f"sp {selfplay_seconds:6.1f}s train {train_seconds:5.1f}s | loss p {metrics['loss/policy']:.3f} "
                    f"v {metrics['loss/value']:.3f} | acc {metrics['policy_accuracy']:.2f} | {a_txt} {decision} "
                    f"| vs random {vs_random['score']:.2f} (raw policy {vs_random_raw['score']:.2f}){vh_txt}{elo_txt}"
                )
        finally:
            writer.close()
            ckpt.close()
        return rows

    def _read_rows(self) -> list[dict]:
        from jaxzero.elo import read_metrics

        return read_metrics(self.workdir)


def run(cfg, workdir, *, progress: bool = True, log=None) -> list[dict]:
    """Builds a `Loop` and runs it (resuming if the workdir holds checkpoints)."""
    return Loop(cfg, workdir, progress=progress, log=log).run()
