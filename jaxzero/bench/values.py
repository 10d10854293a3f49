"""How well do a run's value estimates predict game outcomes? (`scripts/bench.py values`, issue 18)

A net (a workdir's best, or ``DIR@bootstrap``) plays search self-play with its run's own config (the
self-play budget, the leaf-value prior at its starting weight, no heuristic games); every position
of a finished game is then scored against its outcome ``z`` (the mover's component, +1 / -1 for a
two-player win / loss) by each estimate the loop has:

- ``net``: the network's value head (at the position itself; the search's leaves mix it with the
  leaf-value prior when the config has one);
- ``search``: the Q-value of the move the search chose (`SearchOutput.search_value`, the ``q`` of a
  Q+z value target).

For each: mean squared error (0 for a perfect estimate, 1.0 for a constant 0 on ±1 outcomes) and
correlation with ``z``, over all positions and by moves left to the game's end. A value head that
scores near 1.0 here is the weak link of the search, whatever its training loss on other data.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxzero.loop.data import outcome_fit
from jaxzero.loop.parts import build_parts
from jaxzero.selfplay import concat_trajectories, init_slots, value_targets

# moves-to-the-end bins of the table (the last one open)
TO_GO_BINS = (0, 10, 30, 60)


def moves_to_end(done) -> np.ndarray:
    """int ``[T, B]``: moves from each position to the last move of its game (0 at that move) in a
    window whose ``done [T, B]`` marks the moves that ended a game (unfinished games count to the
    window's end; their positions have no outcome and are not scored)."""
    done = np.asarray(done)
    out = np.zeros(done.shape, int)
    count = np.zeros(done.shape[1], int)
    for t in range(done.shape[0] - 1, -1, -1):
        count = np.where(done[t], 0, count + 1)
        out[t] = count
    return out


def value_quality(cfg, game, apply_fn, params, chunks: int = 8, seed: int = 0, log=print) -> dict:
    """Plays ``chunks`` x ``cfg.selfplay.chunk_steps`` moves of ``cfg.selfplay.batch_size`` games with
    ``params`` and scores each value estimate (module docstring): ``{"positions", "estimates": {name:
    {"all": fit, "to_go": {bin: fit}}}, ...}``, each ``fit`` an `outcome_fit`."""
    if chunks < 1:
        raise ValueError(f"chunks must be >= 1, got {chunks}")
    parts = build_parts(cfg, game)
    sp = cfg.selfplay
    weight = float(sp.prior_value_weight)  # the leaf-value prior at its starting weight (0: none)
    slots = init_slots(game, sp.batch_size, jax.random.key(seed))
    trajs, t0 = [], time.time()
    for c in range(chunks):
        slots, traj = parts.selfplay.play(params, slots, jax.random.fold_in(jax.random.key(seed + 1), c),
                                          num_steps=sp.chunk_steps, heuristic_share=jnp.float32(0.0),
                                          prior_weight=jnp.float32(weight))
        trajs.append(jax.device_get(traj))
        log(f"values: chunk {c + 1}/{chunks} ({time.time() - t0:.0f} s)")
    play_seconds = time.time() - t0
    traj = concat_trajectories(trajs)
    z, mask = value_targets(traj)
    mask = np.asarray(mask)
    outcome = np.asarray(z)[..., 0][mask]
    obs = np.asarray(traj.obs)[mask]
    net = np.concatenate([np.asarray(apply_fn(params, jnp.asarray(obs[i:i + 1024]))[1])[:, 0]
                          for i in range(0, len(obs), 1024)]) if len(obs) else np.zeros((0,))
    estimates = {"net": net, "search": np.asarray(traj.search_value)[mask]}
    to_go = moves_to_end(traj.done)[mask]
    bins = list(TO_GO_BINS) + [None]
    table = {}
    for name, est in estimates.items():
        by_bin = {}
        for lo, hi in zip(bins[:-1], bins[1:]):
            sel = (to_go >= lo) & (to_go < (hi if hi is not None else np.inf))
            by_bin[f"{lo}-{hi - 1}" if hi is not None else f"{lo}+"] = outcome_fit(est[sel], outcome[sel])
        table[name] = {"all": outcome_fit(est, outcome), "to_go": by_bin}
    return {"positions": int(mask.sum()), "games": int(np.asarray(traj.done).sum()), "chunks": chunks,
            "prior_weight": weight, "play_seconds": round(play_seconds, 1), "estimates": table}
