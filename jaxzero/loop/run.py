"""The closed loop as a story: self-play -> replay -> train -> gate -> anchors -> checkpoint, per iteration.

`run(config, workdir)` builds a `Loop` and runs it; running it again on the same workdir resumes
after the last complete iteration. Outputs in the workdir: ``checkpoints/`` (orbax),
``metrics.jsonl`` (one JSON object per iteration), ``tb/`` (TensorBoard events), ``elo.json`` /
``elo.png`` and one log line per iteration.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from pathlib import Path

import jax
import jax.numpy as jnp

from jaxzero import config as config_lib
from jaxzero import distributed
from jaxzero.checkpoint import (
    BOOTSTRAP_NET,
    BOOTSTRAP_STATE,
    Checkpointer,
    CorruptCheckpointError,
    install_debug_pause_in_save,
    restore_params,
    save_params,
)
from jaxzero.data_quality import zobrist_keys
from jaxzero.elo import EloTable
from jaxzero.games.registry import make_game
from jaxzero.loop.anchors import Anchors, recent_bests_from_checkpoints
from jaxzero.loop.bootstrap import bootstrap
from jaxzero.loop.data import Window, add_window, window_metrics
from jaxzero.loop.gate import rolled_back, run_gate
from jaxzero.loop.metrics import (
    MetricsLog,
    NoMetricsLog,
    iteration_row,
    log_line,
    memory_mib,
)
from jaxzero.loop.parts import build_parts
from jaxzero.loop.samples import trim_samples, write_samples
from jaxzero.loop.state import (
    Run,
    checkpoint_state,
    initial_state,
    new_buffer,
    resume_arrays,
    resume_info,
    resume_target,
    train_state_of,
)
from jaxzero.loop.training import mean_metrics, train_steps, trained_finite
from jaxzero.loop.workdir import WorkdirLock
from jaxzero.mesh import replicated, shard_batch, shard_rows
from jaxzero.selfplay import assign_heuristic_seats, init_slots
from jaxzero.train import candidate_params


def _debug_pause(phase: str) -> int | None:
    """Iteration at which `JAXZERO_DEBUG_PAUSE=<phase>:<iteration>` asks to stall (kill/resume test)."""
    spec = os.environ.get("JAXZERO_DEBUG_PAUSE", "")
    return int(spec.split(":", 1)[1]) if spec.startswith(phase + ":") else None


def _debug_phase(name: str, it: int) -> None:
    """With ``JAXZERO_DEBUG_PHASES=1``, one ``PHASE <name> <iteration>`` line on stdout as a phase of an
    iteration starts (selfplay, train, arena, checkpoint, metrics): the random-kill test reads from it
    which phase each kill hit."""
    if os.environ.get("JAXZERO_DEBUG_PHASES") == "1":
        print(f"PHASE {name} {it}", flush=True)


class Loop:
    """One training run on a workdir: the parts of its config (compiled once) and the iteration story."""

    def __init__(self, cfg, workdir, *, progress: bool = True, log=None):
        cfg = config_lib.fill_defaults(cfg)  # keys added since the config was written get their defaults
        config_lib.validate(cfg)
        game = make_game(cfg.game.name)
        config_lib.validate(cfg, game)
        self.cfg, self.workdir, self.progress = cfg, Path(workdir), progress
        # several processes: process 0 writes the run's files and its log; the others stay quiet
        self.main = distributed.is_main()
        self.log = (log or (lambda s: print(s, flush=True))) if self.main else (lambda s: None)
        self.config_json = config_lib.to_json(cfg)
        self.parts = build_parts(cfg, game)
        self.game = self.parts.game  # the cached parts hold the game their functions were traced for
        self.buffer = None  # the replay buffer after the last iteration (for inspection)
        self.zobrist_keys = zobrist_keys(game.observation_shape)  # fixed: hashes compare across runs

    def initial_state(self) -> dict:
        """The checkpointed state of a fresh run (see `jaxzero.loop.state`)."""
        return initial_state(self.parts.params0, self.parts.optimizer, self.cfg.seed)

    def run(self) -> list[dict]:
        """Runs (or resumes) the loop up to ``loop.num_iterations``; returns this call's metrics rows."""
        t_start = time.time()
        self.workdir.mkdir(parents=True, exist_ok=True)
        # several processes: the same config everywhere (each process builds the same programs)
        distributed.agree(json.dumps(self.config_json, sort_keys=True), "config (command line and config file)")
        # process 0 holds the lock for the whole run: its peers run with it, nobody else may
        with WorkdirLock(self.workdir) if self.main else contextlib.nullcontext():
            distributed.barrier("jaxzero-workdir-locked")  # no peer goes on when process 0 was refused
            return self._run(t_start)

    def _run(self, t_start: float) -> list[dict]:
        ckpt = Checkpointer(self.workdir / "checkpoints", self.cfg.loop.max_to_keep, warn=self.log)
        log = MetricsLog(self.workdir, self.cfg) if self.main else NoMetricsLog()
        try:
            ckpt.check_config(self.config_json)  # refuse before anything is written
            run, start, first_metrics, carried = self._start(ckpt, log)
            table = EloTable(self.workdir / "elo.json", self.cfg.game.name)
            table.trim(start - 1)
            if carried is not None:  # the checkpoint's table (elo.json is written after it: a kill may lose a row)
                table.results = [list(r) for r in carried["elo"]]
            anchors, rows = Anchors(self.parts, self.cfg, table), []
            anchors.restore(carried["anchors"] if carried is not None else None)
            save_seconds = None
            for it in range(start, self.cfg.loop.num_iterations):
                row = self._iteration(it, run, anchors, table) | first_metrics
                row["elapsed_seconds"] = round(time.time() - t_start, 1)  # since this process started the loop
                row.update(memory_mib())  # a long run's memory, iteration by iteration (soak checks)
                if save_seconds is not None:  # the row saved in a checkpoint cannot time its own save
                    row["previous_checkpoint_seconds"] = save_seconds
                first_metrics = {}
                state = checkpoint_state(run.ts, run.best, it, run.key)
                resume = (resume_arrays(run), resume_info(run, anchors.saved(), table.results))  # for an exact resume
                t_save = time.time()
                _debug_phase("checkpoint", it)
                ckpt.save(it, state, self.config_json, row, resume)  # committed before the metrics line is appended
                save_seconds = round(time.time() - t_save, 2)
                run.last_good, run.last_good_iteration = state, it
                if self.main and (self.workdir / BOOTSTRAP_STATE).exists():  # a checkpoint holds more than it
                    shutil.rmtree(self.workdir / BOOTSTRAP_STATE, ignore_errors=True)
                _debug_phase("metrics", it)
                log.write(row, table)
                rows.append(row)
                self.buffer = run.buffer
                self.log(log_line(row))
                self._samples(it, run)
        finally:
            log.close()
            ckpt.close()
        return rows

    def _start(self, ckpt, log) -> tuple[Run, int, dict, dict | None]:
        """``(run, first iteration, metrics for the first row, the checkpoint's `resume_info` or None)``: a fresh
        run (bootstrapped if configured) or the state of the last checkpoint. A checkpoint with its
        replay buffer, game slots and the rest of `jaxzero.loop.state.resume_info` continues exactly;
        an older one (or one saved under other buffer or slot shapes) restarts those, with a warning."""
        cfg, parts, game = self.cfg, self.parts, self.game
        state, last_metrics, latest, carried = self.initial_state(), {}, None, None
        abstract = jax.eval_shape(lambda: state)
        recent, saved = [], None
        restored = ckpt.resume_latest_verified(abstract, lambda info: resume_target(game, cfg, parts.params0, info),
                                               warn=self.log)
        boot = None  # (metrics) of a bootstrap that a stopped start finished, restored with `saved`
        if restored is None and cfg.bootstrap.num_steps > 0:
            boot = self._saved_bootstrap(abstract)
            if boot is not None:
                state, _, boot, saved = boot
        if restored is not None:
            latest, state, _, last_metrics, saved = restored
            self.log(f"resuming from checkpoint of iteration {latest} in {ckpt.directory}")
            if isinstance(saved, str):
                self.log(f"WARNING: {saved}: they restart, so the resume is not exact")
                saved = None
                if cfg.elo.enabled and cfg.elo.recent_bests:
                    recent = recent_bests_from_checkpoints(ckpt, abstract, last_metrics.get("best_from", "init"))
        log.trim(latest if latest is not None else -1)
        if self.main:
            trim_samples(self.workdir, latest + 1 if latest is not None else 0)
        if log.recover(last_metrics):
            self.log(f"metrics.jsonl lacked iteration {latest}'s row: written from its checkpoint")
        start = int(state["iteration"]) + 1
        if (save_pause := _debug_pause("save")) is not None:
            install_debug_pause_in_save(save_pause)
        key = jax.random.wrap_key_data(jnp.asarray(state["rng"], jnp.uint32))
        if saved is not None:  # exact: the key, buffer and slots as the uninterrupted run has them now
            arrays, info = saved
            buffer, slots, carried = arrays["buffer"], arrays["slots"], info
            recent = list(zip(info["recent"], arrays["recent"]))
        else:
            key, k_slots = jax.random.split(key)
            buffer = new_buffer(game, cfg)
            slots = init_slots(game, cfg.selfplay.batch_size, k_slots)
            if parts.selfplay.heuristic is not None:
                slots = assign_heuristic_seats(slots, jax.random.fold_in(k_slots, 1),
                                               config_lib.heuristic_share(cfg, start), cfg.mix.heuristic_seats)
        run = Run(
            ts=train_state_of(state), best=state["best"], best_name=last_metrics.get("best_from", "init"),
            best_vs_heuristic=last_metrics.get("vs_heuristic/score"), last_good=state,
            last_good_iteration=latest if latest is not None else -1, recent=recent,
            buffer=shard_rows(buffer, parts.mesh), slots=slots, key=key,  # its rows split over the mesh
            nonfinite_streak=saved[1]["nonfinite_streak"] if saved is not None else 0,
        )
        first_metrics = {}
        if boot is not None:  # the state, buffer, slots and key as the bootstrap left them
            first_metrics, run.best_name, run.bootstrap = boot, "bootstrap", run.best
            carried = None  # no anchor or Elo results yet
        elif start == 0 and cfg.bootstrap.num_steps > 0:
            # a fresh run: the heuristic's games train the first best (see config.bootstrap)
            run.key, k_boot = jax.random.split(run.key)
            run.ts, run.buffer, first_metrics = bootstrap(parts, cfg, run.ts, run.buffer, k_boot,
                                                          progress=self.progress, log=self.log)
            run.best, run.best_name = candidate_params(run.ts), "bootstrap"
            save_params(self.workdir / BOOTSTRAP_NET, run.best)  # a fixed anchor (`scripts/arena.py DIR@bootstrap`)
            run.bootstrap = run.best
            run.last_good = checkpoint_state(run.ts, run.best, -1, run.key)
            self._save_bootstrap(run, first_metrics)
        elif (self.workdir / BOOTSTRAP_NET).exists():
            try:
                run.bootstrap = restore_params(self.workdir / BOOTSTRAP_NET, state["best"])
            except CorruptCheckpointError as e:
                self.log(f"warning: the bootstrap anchor is not measured: {e}")
        # data-parallel self-play: the game slots split over the mesh (one device: a mesh of one)
        run.slots = shard_batch(run.slots, parts.mesh)
        return run, start, first_metrics, carried

    def _save_bootstrap(self, run: Run, metrics: dict) -> None:
        """Saves the run as the bootstrap left it (state at iteration -1, replay buffer, game slots, key) in
        ``<workdir>/bootstrap_state``: a start stopped before iteration 0's checkpoint resumes from it
        (`_saved_bootstrap`) instead of playing and training the bootstrap again. Iteration 0's checkpoint
        deletes it."""
        ck = Checkpointer(self.workdir / BOOTSTRAP_STATE, 1, warn=self.log)
        try:
            ck.save(0, run.last_good, self.config_json, metrics, (resume_arrays(run), resume_info(run, None, [])))
        finally:
            ck.close()

    def _saved_bootstrap(self, abstract):
        """``(state, config, bootstrap metrics, (arrays, info))`` of ``<workdir>/bootstrap_state`` when it
        reads, verifies and was saved under exactly this config; else None, and a directory that was there
        is deleted with a line saying why (the bootstrap runs again and saves its own)."""
        directory = self.workdir / BOOTSTRAP_STATE
        if not directory.is_dir():
            return None
        ck, why, got = None, None, None
        try:
            ck = Checkpointer(directory, 1, warn=self.log, reject=False)
            saved_config = ck.newest_readable_config()
            if saved_config is None:
                why = "it holds no complete save"
            elif json.dumps(saved_config, sort_keys=True) != json.dumps(self.config_json, sort_keys=True):
                why = "it was made under another config"
            else:
                got = ck.resume_latest_verified(
                    abstract, lambda info: resume_target(self.game, self.cfg, self.parts.params0, info),
                    warn=self.log, reject=False)
                if got is None or isinstance(got[4], str):
                    why = got[4] if got is not None else "it holds no complete save"
        except CorruptCheckpointError as e:
            why = str(e)
        finally:
            if ck is not None:
                ck.close()
        if why is not None:
            self.log(f"WARNING: the bootstrap saved in {directory} is not used ({why}): bootstrapping again")
            distributed.barrier("jaxzero-bootstrap-state-read")  # every process has read before it goes
            if self.main:
                shutil.rmtree(directory, ignore_errors=True)
            return None
        self.log(f"bootstrap restored from {directory} (a start stopped before iteration 0's checkpoint)")
        return got[1:]

    def _iteration(self, it: int, run: Run, anchors: Anchors, table: EloTable) -> dict:
        """One iteration: self-play with the best, train the candidate, gate it, measure the best."""
        cfg, parts, sp = self.cfg, self.parts, self.cfg.selfplay
        run.key, k_sp, k_train, k_arena, k_rand = jax.random.split(run.key, 5)
        k_heur, k_bests = jax.random.split(jax.random.fold_in(k_arena, 1))
        if _debug_pause("selfplay") == it:
            print(f"DEBUG_PAUSE selfplay {it}", flush=True)
            time.sleep(3600)
        train_slots = slice(0, sp.batch_size - sp.holdout_slots)
        _debug_phase("selfplay", it)

        # 1. self-play with the best net (a scheduled share of games with heuristic seats)
        share = config_lib.heuristic_share(cfg, it) if parts.selfplay.heuristic is not None else 0.0
        prior = config_lib.prior_value_weight(cfg, it)
        run.slots, window = self._self_play(run, k_sp, it, share, prior)
        data = window_metrics(window, train_slots, self.zobrist_keys) | {
            "data/heuristic_share_target": share, "data/prior_value_weight": prior}

        # 2. the window's positions enter the replay buffer; games ending now label their earlier positions
        buffer_before = run.buffer
        run.buffer, data["value_targets_late"] = add_window(run.buffer, window, train_slots,
                                                           poison=it == cfg.debug.poison_iteration)

        # 3. train the candidate; a non-finite loss rolls back (and this window's data leaves the buffer)
        t0 = time.time()
        _debug_phase("train", it)
        run.ts, step_metrics = train_steps(parts.train_step, run.ts, run.buffer, k_train,
                                           cfg.train.steps_per_iteration, cfg.train.batch_size)
        timing = {"selfplay_seconds": window.seconds, "train_seconds": time.time() - t0}
        nonfinite = not trained_finite(run.ts, step_metrics)
        broken = nonfinite and cfg.rollback.on_nonfinite
        run.nonfinite_streak = run.nonfinite_streak + 1 if broken else 0
        if 0 < cfg.rollback.max_nonfinite <= run.nonfinite_streak:
            raise FloatingPointError(
                f"{run.nonfinite_streak} consecutive iterations trained to a non-finite loss and were rolled back "
                f"(config.rollback.max_nonfinite); stopped at iteration {it}, the checkpoints hold the last good state")
        heldout = {}
        if sp.holdout_slots and not broken:  # positions of game slots never added to the buffer
            heldout = jax.device_get(parts.evaluate(candidate_params(run.ts),
                                                    window.batch(slice(train_slots.stop, None))))

        # 4. the gate: candidate vs best; promote, keep, or roll back
        t0 = time.time()
        _debug_phase("arena", it)
        gate = (rolled_back("non-finite training loss") if broken
                else run_gate(parts, cfg, candidate_params(run.ts), run.best, run.best_vs_heuristic, k_arena, k_heur))
        previous_best = self._apply_gate(it, run, gate, buffer_before if nonfinite else None)

        # 5. the best vs the anchors (random, heuristic, recent bests) when it changed; Elo
        measured, measured_at = anchors.measure(it, run, (k_rand, k_heur, k_bests), gate.candidate_vs_heuristic)
        if gate.promoted:  # the gate's games rate the new best against the one it replaced
            table.add(it, run.best_name, previous_best, gate.arena["score"] * gate.arena["games"], gate.arena["games"])
        timing["arena_seconds"] = time.time() - t0
        if "vs_heuristic" in measured:
            run.best_vs_heuristic = measured["vs_heuristic"]["score"]
        ratings = table.fit(cfg.elo.prior) if cfg.elo.enabled else ({}, {})
        return iteration_row(cfg, it, run, data, timing, mean_metrics(step_metrics), heldout, gate, measured,
                             measured_at, ratings, parts.heuristic_name)

    def _samples(self, it: int, run: Run) -> None:
        """The iteration's sample games of the best in ``<workdir>/games/`` (`loop/samples.py`; own keys,
        after the checkpoint: training is the same with or without them). A failure is one warning line."""
        if not self.main:  # process 0 plays the samples alone, on its own copy of the best
            return
        best = jax.device_get(run.best) if jax.process_count() > 1 else run.best
        try:
            done = write_samples(self.parts, self.cfg, self.workdir, it, best, run.best_name)
        except Exception as e:  # noqa: BLE001 - a replay file must not stop a training run
            self.log(f"WARNING: iteration {it}'s sample game was not kept: {type(e).__name__}: {e}")
            return
        if done:
            self.log(f"  sample: {done['samples/games']} game(s) of {run.best_name} in {self.workdir / 'games'} "
                     f"({done['samples/seconds']:.1f} s)")

    def _self_play(self, run: Run, key, it: int, share: float, prior: float):
        """A window of self-play with the best net (``share`` of heuristic games, ``prior`` the weight of
        the leaf-value prior): ``(slots, Window)``."""
        share = jnp.asarray(share, jnp.float32)
        prior = jnp.asarray(prior, jnp.float32)
        sp = self.cfg.selfplay

        def play(slots, k):
            return self.parts.selfplay.play(run.best, slots, k, num_steps=sp.chunk_steps, heuristic_share=share,
                                            prior_weight=prior)

        # the window is gathered whole onto every device (value targets, held-out metrics); each device
        # writes the rows that fall into its share of the replay buffer
        return Window.play(play, run.slots, key, sp.num_steps, sp.chunk_steps, f"self-play it {it}", self.progress,
                           sharding=replicated(self.parts.mesh))

    def _apply_gate(self, it: int, run: Run, gate, buffer_before) -> str:
        """A promotion makes the candidate the best; a rollback restores the last good state (and
        ``buffer_before``, when given, drops this window's data). Returns the name of the best before."""
        previous = run.best_name
        if gate.promoted:
            if self.cfg.elo.enabled and self.cfg.elo.recent_bests:
                run.recent = (run.recent + [(run.best_name, run.best)])[-self.cfg.elo.recent_bests:]
            run.best, run.best_name = candidate_params(run.ts), f"it{it}"
        if gate.rollback_reason is not None:
            run.rollback()
            if buffer_before is not None:
                run.buffer = buffer_before
        return previous


def run(cfg, workdir, *, progress: bool = True, log=None) -> list[dict]:
    """Builds a `Loop` and runs it (resuming if the workdir holds checkpoints)."""
    return Loop(cfg, workdir, progress=progress, log=log).run()
