"""From played games to training data: windows of moves, value targets, replay rows, window statistics.

A window is ``selfplay.num_steps`` moves of every game slot, played ``selfplay.chunk_steps`` per
compiled call. The first ``batch_size - holdout_slots`` slots train (their positions enter the
replay buffer); the last ``holdout_slots`` never do and give the held-out evaluation.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxzero import replay
from jaxzero.data_quality import window_stats, zobrist_hash
from jaxzero.loop.progress import steps
from jaxzero.selfplay import SOURCE_HEURISTIC, concat_trajectories, finished_games, value_targets


def slots_of(tree, slots: slice):
    """The window's positions of the given game slots (every leaf [T, B, ...] -> [T, b, ...])."""
    return jax.tree.map(lambda x: x[:, slots], tree)


def trajectory_to_batch(traj, values, value_mask, slots: slice) -> replay.Batch:
    """Flattens the [T, B] positions of the given game slots into a replay batch."""
    traj, values, value_mask = slots_of((traj, values, value_mask), slots)

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
        search_value=None if traj.search_value is None else flat(traj.search_value),
    )


def play_window(play, slots, key, num_steps: int, chunk: int, desc: str, progress: bool):
    """``num_steps`` moves of every slot, ``chunk`` per compiled call of ``play(slots, key) -> (slots,
    Trajectory)``: ``(slots, Trajectory[num_steps, B])``."""
    chunks = []
    batch = jax.tree.leaves(slots)[0].shape[0]
    for k in steps(num_steps // chunk, desc, "chunk", progress, per_step=chunk * batch, what="positions",
                   sync=lambda: jax.block_until_ready(chunks[-1])):
        slots, traj = play(slots, jax.random.fold_in(key, k))
        chunks.append(traj)
    return slots, concat_trajectories(chunks)


@dataclasses.dataclass(frozen=True)
class Window:
    """One window of played moves with its value targets."""

    traj: Any  # selfplay.Trajectory [T, B]
    values: Any  # [T, B, P] mover-relative outcome targets
    value_mask: Any  # [T, B] which positions have one
    seconds: float

    @classmethod
    def play(cls, play, slots, key, num_steps: int, chunk: int, desc: str, progress: bool, sharding=None):
        """Plays a window (see `play_window`) and labels it: ``(slots, Window)``. ``sharding``: place
        the (batch-sharded) trajectory so first, e.g. replicated over the mesh (an all-gather)."""
        t0 = time.time()
        slots, traj = play_window(play, slots, key, num_steps, chunk, desc, progress)
        if sharding is not None:
            traj = jax.device_put(traj, sharding)
        values, value_mask = value_targets(traj)
        jax.block_until_ready(value_mask)
        return slots, cls(traj, values, value_mask, time.time() - t0)

    def batch(self, slots: slice) -> replay.Batch:
        """The positions of the given game slots as a replay batch."""
        return trajectory_to_batch(self.traj, self.values, self.value_mask, slots)


def add_window(buffer, window: Window, slots: slice, poison: bool = False):
    """``(buffer, late)``: games ending in this window label their positions from earlier windows
    (``late`` of them), then the window's positions of ``slots`` enter the buffer. ``poison`` (fault
    injection for tests) replaces their observations by NaN."""
    new_data = window.batch(slots)
    if poison:
        new_data = new_data.replace(obs=jnp.full(new_data.obs.shape, jnp.nan, jnp.float32))
    buffer, late = replay.label_finished(buffer, *finished_games(slots_of(window.traj, slots)))
    return replay.add(buffer, new_data), int(late)


def heuristic_game_share(traj, slots: slice) -> tuple[float, int]:
    """(share of heuristic games, games) over the games with positions in the given slots of a window."""
    valid = np.asarray(traj.valid[:, slots])
    ids = np.asarray(traj.game_id[:, slots])[valid]
    heur = np.asarray(traj.heuristic_game[:, slots])[valid]
    if ids.size == 0:
        return 0.0, 0
    uniq, first = np.unique(ids, return_index=True)
    return float(heur[first].mean()), int(uniq.size)


def outcome_fit(estimate, outcome) -> dict:
    """``{"n", "mse", "corr"}`` of value estimates ``[N]`` against game outcomes ``[N]``: mean squared
    error (1.0 for a constant 0 on +-1 outcomes) and correlation (NaN when either side is constant or
    there is nothing to score)."""
    estimate, outcome = np.asarray(estimate, np.float64), np.asarray(outcome, np.float64)
    n = int(estimate.size)
    if n == 0:
        return {"n": 0, "mse": float("nan"), "corr": float("nan")}
    constant = estimate.std() == 0 or outcome.std() == 0
    corr = float("nan") if constant else float(np.corrcoef(estimate, outcome)[0, 1])
    return {"n": n, "mse": float(np.mean((estimate - outcome) ** 2)), "corr": corr}


def search_value_error(window: Window, slots: slice) -> float:
    """Mean squared error of the search's values (the mover's chosen-move Q) against the outcome, over the
    positions of ``slots`` that have both (NaN when none): how good the values a Q+z target mixes in are,
    on the scale of the value loss's mover component."""
    if window.traj.search_value is None:
        return float("nan")
    q = np.asarray(window.traj.search_value[:, slots])
    both = np.asarray(window.value_mask[:, slots]) & np.isfinite(q)
    return outcome_fit(q[both], np.asarray(window.values[:, slots, 0])[both])["mse"]


def window_metrics(window: Window, slots: slice, zobrist_keys) -> dict:
    """The metrics of a window's training slots: games, positions, targets, heuristic shares, data quality."""
    traj = window.traj
    heur_share, games_seen = heuristic_game_share(traj, slots)
    valid = np.asarray(traj.valid[:, slots])
    by_heur = np.asarray(traj.source[:, slots])[valid] == SOURCE_HEURISTIC
    return {
        "games": int(np.asarray(traj.done[:, slots]).sum()),
        "truncated": int(np.asarray(traj.truncated[:, slots]).sum()),  # games ended by max_moves
        "positions": int(np.prod(traj.done[:, slots].shape)),
        "value_targets": int(np.asarray(window.value_mask[:, slots]).sum()),
        "policy_targets": int(np.asarray(traj.policy_mask[:, slots]).sum()),
        "data/heuristic_share": heur_share,  # share of this window's games with heuristic seats
        "data/heuristic_positions": float(by_heur.mean()) if by_heur.size else 0.0,  # moves the heuristic chose
        "data/games_seen": games_seen,
        # searched nodes whose legal moves did not fit the compact search's slots (should stay 0)
        "data/legal_overflow": int(np.asarray(traj.legal_overflow[:, slots]).sum()),
        # the search values' squared error against the outcome (the Q of a Q+z target; NaN: no search)
        "data/search_value_error": search_value_error(window, slots),
        **window_stats(traj, zobrist_hash(traj.obs, zobrist_keys), slots),
    }
