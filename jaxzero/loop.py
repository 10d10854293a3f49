"""The closed loop: self-play -> replay -> train -> arena (gate) -> vs random -> checkpoint, per iteration.

`run(config, workdir)` composes the game, network, search, self-play, replay buffer, train step,
arena and checkpoints. Running it again on the same workdir resumes after the last complete
iteration. Outputs in the workdir: ``checkpoints/`` (orbax), ``metrics.jsonl`` (one JSON object per
iteration), ``tb/`` (TensorBoard events) and one log line per iteration.
"""

from __future__ import annotations

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
from jaxzero.arena import Arena
from jaxzero.checkpoint import Checkpointer, install_debug_pause_in_save
from jaxzero.games.protocol import make_game
from jaxzero.nn import make_model
from jaxzero.selfplay import (
    SelfPlay,
    batch_mesh,
    concat_trajectories,
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
)


def _debug_pause(phase: str) -> int | None:
    """Iteration at which `JAXZERO_DEBUG_PAUSE=<phase>:<iteration>` asks to stall (kill/resume test)."""
    spec = os.environ.get("JAXZERO_DEBUG_PAUSE", "")
    if spec.startswith(phase + ":"):
        return int(spec.split(":", 1)[1])
    return None


def trajectory_to_batch(traj, values, value_mask, slots: slice) -> replay.Batch:
    """Flattens the [T, B] positions of the given game slots into a replay batch."""

    def flat(x):
        x = x[:, slots]
        return x.reshape((-1,) + x.shape[2:])

    return replay.Batch(
        obs=flat(traj.obs),
        policy=flat(traj.policy),
        value=flat(values),
        value_mask=flat(value_mask),
        legal=flat(traj.legal),
    )


class Loop:
    """Everything one training run needs, built once (compiled functions are reused across iterations)."""

    def __init__(self, cfg, workdir, *, progress: bool = True, log=None):
        config_lib.validate(cfg)
        self.cfg = cfg
        self.workdir = Path(workdir)
        self.progress = progress
        self.log = log or (lambda s: print(s, flush=True))
        self.game = game = make_game(cfg.game.name)
        config_lib.validate(cfg, game)
        self.config_json = config_lib.to_json(cfg)
        self.model, params0 = make_model(cfg.net, game, cfg.seed)
        self.optimizer = make_optimizer(cfg.train)
        self.params0 = params0
        sp = cfg.selfplay
        self.selfplay = SelfPlay(
            game,
            self.model.apply,
            num_simulations=sp.num_simulations,
            max_num_considered_actions=sp.max_num_considered_actions,
            gumbel_scale=sp.gumbel_scale,
            temperature=sp.temperature,
            temperature_moves=sp.temperature_moves,
            max_moves=cfg.game.max_moves,
            search=sp.search,
        )
        self.arena = Arena(
            game,
            self.model.apply,
            num_simulations=sp.num_simulations,
            max_num_considered_actions=sp.max_num_considered_actions,
            opening_moves=cfg.arena.opening_moves,
            max_moves=cfg.arena.max_moves,
            search=sp.search,
        )
        self.train_step = make_train_step(self.model.apply, self.optimizer, cfg.train.value_loss_weight)
        self.evaluate = make_eval_fn(self.model.apply, cfg.train.value_loss_weight)

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
    def _self_play(self, params, slots, key, iteration):
        sp = self.cfg.selfplay
        chunks = []
        n_chunks = sp.num_steps // sp.chunk_steps
        bar = tqdm(
            range(n_chunks),
            desc=f"self-play it {iteration}",
            unit="chunk",
            disable=not self.progress,
            leave=False,
            file=sys.stderr,
        )
        for k in bar:
            slots, traj = self._play(params, slots, jax.random.fold_in(key, k), num_steps=sp.chunk_steps)
            chunks.append(traj)
        traj = concat_trajectories(chunks)
        if self._play is not self.selfplay.play:
            # gather the sharded batch onto one device (a transfer, no collective) for replay/training
            traj = jax.device_put(traj, jax.devices()[0])
        values, value_mask = value_targets(traj)
        jax.block_until_ready(value_mask)
        return slots, traj, values, value_mask

    def run(self) -> list[dict]:
        """Runs (or resumes) the loop up to ``loop.num_iterations``; returns this call's metrics rows."""
        cfg = self.cfg
        run_start = time.time()
        self.workdir.mkdir(parents=True, exist_ok=True)
        ckpt = Checkpointer(self.workdir / "checkpoints", cfg.loop.max_to_keep)
        ckpt.check_config(self.config_json)  # refuse before anything is written
        state = self.initial_state()
        latest = ckpt.latest_iteration()
        if latest is not None:
            state, _, _ = ckpt.restore(latest, jax.eval_shape(lambda: state))
            self.log(f"resuming from checkpoint of iteration {latest} in {ckpt.directory}")
            self._trim_metrics(latest)
        else:
            self._trim_metrics(-1)
        start = int(state["iteration"]) + 1
        save_pause = _debug_pause("save")
        if save_pause is not None:
            install_debug_pause_in_save(save_pause)

        from jaxzero.train import TrainState

        ts = TrainState(params=state["candidate"], opt_state=state["opt_state"], step=jnp.asarray(state["step"]))
        best = state["best"]
        key = jax.random.wrap_key_data(jnp.asarray(state["rng"], jnp.uint32))
        game = self.game
        sp = cfg.selfplay
        buffer = replay.init_buffer(cfg.replay.capacity, game.observation_shape, game.num_actions, game.num_players)
        key, k_slots = jax.random.split(key)
        slots = init_slots(game, sp.batch_size, k_slots)
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
        try:
            for it in range(start, cfg.loop.num_iterations):
                key, k_sp, k_train, k_arena, k_rand = jax.random.split(key, 5)
                if _debug_pause("selfplay") == it:
                    print(f"DEBUG_PAUSE selfplay {it}", flush=True)
                    time.sleep(3600)

                # 1. self-play with the best net
                t0 = time.time()
                slots, traj, values, value_mask = self._self_play(best, slots, k_sp, it)
                selfplay_seconds = time.time() - t0
                games = int(np.asarray(traj.done[:, train_slots]).sum())
                truncated = int(np.asarray(traj.truncated[:, train_slots]).sum())  # games ended by max_moves
                buffer = replay.add(buffer, trajectory_to_batch(traj, values, value_mask, train_slots))
                positions = int(np.prod(traj.done[:, train_slots].shape))

                # 2. train the candidate from Python (one jitted step, fixed batch shape)
                t0 = time.time()
                step_metrics = []
                for s in range(cfg.train.steps_per_iteration):
                    ts, m = self.train_step(ts, buffer, jax.random.fold_in(k_train, s), cfg.train.batch_size)
                    step_metrics.append(m)
                step_metrics = jax.device_get(step_metrics)
                train_seconds = time.time() - t0
                train_means = {k: float(np.mean([m[k] for m in step_metrics])) for k in step_metrics[0]}

                # 3. held-out positions (game slots never added to the buffer)
                held = trajectory_to_batch(traj, values, value_mask, holdout_slots)
                ev = jax.device_get(self.evaluate(ts.params, held)) if sp.holdout_slots else {}

                # 4. arena: candidate vs best, seats swapped; promote on score >= threshold
                t0 = time.time()
                arena = self.arena.match(ts.params, best, k_arena, cfg.arena.num_games)
                promoted = arena["score"] >= cfg.arena.promotion_threshold
                if promoted:
                    best = ts.params
                vs_random = self.arena.vs_random(best, k_rand, cfg.arena.vs_random_games)
                vs_random_raw = self.arena.vs_random_raw_policy(best, k_rand, cfg.arena.vs_random_games)
                arena_seconds = time.time() - t0

                metrics = {
                    "iteration": it,
                    "games": games,
                    "truncated": truncated,
                    "positions": positions,
                    "value_targets": int(np.asarray(value_mask[:, train_slots]).sum()),
                    "selfplay_seconds": round(selfplay_seconds, 3),
                    "train_seconds": round(train_seconds, 3),
                    "arena_seconds": round(arena_seconds, 3),
                    "loss/policy": train_means["loss/policy"],
                    "loss/value": train_means["loss/value"],
                    "grad_norm": train_means["grad_norm"],
                    "policy_accuracy": float(ev.get("policy_accuracy", float("nan"))),
                    "heldout/loss_policy": float(ev.get("loss/policy", float("nan"))),
                    "heldout/loss_value": float(ev.get("loss/value", float("nan"))),
                    "arena/score": arena["score"],
                    "arena/ci_low": arena["ci_low"],
                    "arena/ci_high": arena["ci_high"],
                    "arena/games": arena["games"],
                    "arena/truncated": arena["truncated"],
                    "promoted": bool(promoted),
                    "vs_random/score": vs_random["score"],
                    "vs_random/ci_low": vs_random["ci_low"],
                    "vs_random/ci_high": vs_random["ci_high"],
                    "vs_random/games": vs_random["games"],
                    "vs_random/truncated": vs_random["truncated"],
                    "vs_random_raw_policy/score": vs_random_raw["score"],
                    "buffer_size": int(buffer.size),
                    "train_step": int(ts.step),
                    "elapsed_seconds": round(time.time() - run_start, 1),  # since this process started the loop
                }

                # 5. checkpoint (committed before the metrics line is appended)
                state = {
                    "candidate": ts.params,
                    "opt_state": ts.opt_state,
                    "step": ts.step,
                    "best": best,
                    "iteration": jnp.asarray(it, jnp.int32),
                    "rng": jax.random.key_data(key),
                }
                ckpt.save(it, state, self.config_json, metrics)
                with open(self._metrics_path(), "a") as f:
                    f.write(json.dumps(metrics) + "\n")
                for k, v in metrics.items():
                    if k != "iteration":
                        writer.add_scalar(k, float(v), it)
                writer.flush()
                rows.append(metrics)
                self.log(
                    f"it {it:3d} | games {games:4d} (trunc {truncated}) pos {positions:6d} | sp {selfplay_seconds:6.1f}s "
                    f"train {train_seconds:5.1f}s | loss p {metrics['loss/policy']:.3f} v {metrics['loss/value']:.3f} "
                    f"| acc {metrics['policy_accuracy']:.2f} | arena {arena['score']:.2f} "
                    f"[{arena['ci_low']:.2f},{arena['ci_high']:.2f}] {'PROMOTED' if promoted else 'kept best'} "
                    f"| vs random {vs_random['score']:.2f} (raw policy {vs_random_raw['score']:.2f})"
                )
        finally:
            writer.close()
            ckpt.close()
        return rows


def run(cfg, workdir, *, progress: bool = True, log=None) -> list[dict]:
    """Builds a `Loop` and runs it (resuming if the workdir holds checkpoints)."""
    return Loop(cfg, workdir, progress=progress, log=log).run()
