"""What a checkpoint holds, and what a run carries from one iteration to the next.

The checkpointed state is a plain dict (orbax item ``state``): the candidate's params, optimizer
state and train step, the best params, the iteration and the RNG key data. `Run` is the host-side
record of a run in progress (the train state, the best and its name, the last good state a
rollback restores, the replay buffer, the running game slots, the key).

What else of a `Run` decides the iterations to come is saved with each checkpoint too, so a resumed
run continues exactly as an uninterrupted one: `resume_arrays` (the replay buffer, the running game
slots, the earlier bests' params) and `resume_info` (their names, the non-finite streak, the anchor
results carried for an unchanged best, the Elo table's results); `resume_target` is their abstract tree for a restore.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxzero import distributed, replay
from jaxzero.search.common import max_legal_actions
from jaxzero.selfplay import init_slots
from jaxzero.train import TrainState, init_train_state


def initial_state(params0, optimizer, seed: int) -> dict:
    """The state of a fresh run: candidate = best = the initial network, iteration -1."""
    ts = init_train_state(params0, optimizer)
    return checkpoint_state(ts, params0, -1, jax.random.key(seed))


def checkpoint_state(ts: TrainState, best, iteration: int, key) -> dict:
    """The dict one checkpoint saves (see the module docstring)."""
    return {
        "candidate": ts.params,
        "opt_state": ts.opt_state,
        "step": ts.step,
        "best": best,
        "iteration": jnp.asarray(iteration, jnp.int32),
        "rng": jax.random.key_data(key),
    }


def train_state_of(state: dict) -> TrainState:
    """The candidate's `TrainState` in a checkpointed state."""
    return TrainState(params=state["candidate"], opt_state=state["opt_state"], step=jnp.asarray(state["step"]))


@dataclasses.dataclass
class Run:
    """A run in progress: what one iteration hands to the next."""

    ts: TrainState  # the candidate
    best: Any  # params of the best net
    best_name: str  # its Elo name: "init", "bootstrap" or "it<iteration it was promoted at>"
    best_vs_heuristic: float | None  # the best's last score against the heuristic
    last_good: dict  # the checkpointed state a rollback restores
    last_good_iteration: int
    recent: list  # [(name, params)] of earlier bests for the Elo ladder
    buffer: Any  # replay.ReplayBuffer
    slots: Any  # selfplay.Slots: the running games
    key: Any
    nonfinite_streak: int = 0  # consecutive iterations rolled back for a non-finite loss
    bootstrap: Any = None  # params of the heuristic-bootstrapped first best (a fixed anchor), or None

    def rollback(self) -> None:
        """Back to the last good state: its best params and optimizer state (the candidate restarts from the best)."""
        good = self.last_good
        self.ts = TrainState(params=good["best"], opt_state=good["opt_state"], step=jnp.asarray(good["step"]))
        self.best = good["best"]


def resume_arrays(run: Run) -> dict:
    """The arrays of ``run`` an exact resume needs besides the checkpointed state (the slots, and with
    several processes the replay buffer, which the mesh splits over devices, gathered to the host)."""
    # several processes: each holds only its devices' rows and slots; the gather gives every process all of
    # them. One process holds every row: the buffer is saved from its devices (no host copy of it all)
    buffer = run.buffer if jax.process_count() == 1 else distributed.gather(run.buffer)
    return {"buffer": buffer, "slots": distributed.gather(run.slots), "recent": [params for _, params in run.recent]}


def resume_info(run: Run, anchors_measured, elo_results) -> dict:
    """The JSON record saved with `resume_arrays`: the earlier bests' names, the non-finite streak, the
    anchors' carried results (`jaxzero.loop.anchors.Anchors.saved`) and the Elo table's results (NumPy
    values as Python ones, so the record always serialises)."""
    info = {"recent": [name for name, _ in run.recent], "nonfinite_streak": run.nonfinite_streak,
            "anchors": anchors_measured, "elo": elo_results}
    return json.loads(json.dumps(info, default=lambda x: np.asarray(x).tolist()))


def new_buffer(game, cfg) -> replay.ReplayBuffer:
    """An empty replay buffer of ``cfg.replay.capacity`` rows for ``game``: policy targets kept in
    K = `max_legal_actions` slots (every entry of a game without that bound), legal masks bit-packed."""
    return replay.init_buffer(cfg.replay.capacity, game.observation_shape, game.num_actions, game.num_players,
                              policy_slots=max_legal_actions(game))


def resume_target(game, cfg, params0, info: dict) -> dict:
    """The abstract tree (shapes, dtypes) of `resume_arrays` under ``cfg`` for a saved ``info``."""
    return jax.eval_shape(lambda: {
        "buffer": new_buffer(game, cfg),
        "slots": init_slots(game, cfg.selfplay.batch_size, jax.random.key(0)),
        "recent": [params0 for _ in info.get("recent", [])],
    })
