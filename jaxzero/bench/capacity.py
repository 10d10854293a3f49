"""Is the bootstrap's imitation of the heuristic limited by the network or by the data?
(`scripts/bench.py capacity`, issue 18)

The heuristic's games are played once, exactly as a run's bootstrap plays them (``config.bootstrap``:
``batch_size`` games for ``num_steps`` decisions, the last ``holdout_slots`` games held out). Then each
network shape trains from its fresh initialisation on the same rows with the bootstrap's own recipe
(optimizer, schedule, batch, ``steps`` steps) and is measured:

- ``held_out``: top-1 agreement with the heuristic's move (with ``bootstrap.policy_temperature >= 0``:
  the net's move is one of the heuristic's best-valued, the distillation target's most probable) and
  value loss on the held-out games;
- ``fit``: the same on as many *training* games (the first slots): a fit far above the held-out
  agreement says the rows are too few for the net (data-limited), both low says the net is too small;
- ``raw_vs_heuristic``: the raw policy (argmax over legal logits, no search) against the heuristic
  over ``games`` games with the config's random openings (the same openings for every net).

- ``ceiling`` (`self_agreement`): how often the heuristic agrees with itself under another random
  key on the positions of its own games. It breaks ties at random, so no imitator's top-1 agreement
  with its move can exceed this.

A spec ``<blocks>x<channels>`` names a shape (the value head as wide per channel as the config's); ``@<fraction>`` trains it
on that share of the training games only (``2x32@0.5``): does agreement grow with the data?
"""

from __future__ import annotations

import copy
import re
import time

import chex
import jax
import jax.numpy as jnp

from jaxzero import replay
from jaxzero.loop.bootstrap import bootstrap_slots, heuristic_window
from jaxzero.loop.parts import build_parts
from jaxzero.loop.state import new_buffer
from jaxzero.loop.training import mean_metrics, train_steps, trained_finite
from jaxzero.match import check_num_games, wilson_interval
from jaxzero.train import init_train_state

_SPEC = re.compile(r"([1-9][0-9]*)x([1-9][0-9]*)(?:@(0?\.[0-9]+|1(?:\.0*)?))?")


def parse_net(spec: str) -> tuple[int, int, float]:
    """``(blocks, channels, fraction of the training games)`` of a spec such as ``6x64`` or ``2x32@0.5``."""
    m = _SPEC.fullmatch(spec.strip())
    if m is None or (m.group(3) is not None and float(m.group(3)) <= 0):
        raise ValueError(f"bad net spec {spec!r}: use <blocks>x<channels>[@<fraction in (0, 1]>], e.g. 6x64 or 2x32@0.5")
    return int(m.group(1)), int(m.group(2)), float(m.group(3) or 1.0)


def shaped(cfg, blocks: int, channels: int, steps: int):
    """A copy of ``cfg`` with the net's shape and the bootstrap's step count replaced; the value head
    keeps the config's width per channel (the config's own shape is the config's net exactly)."""
    c = copy.deepcopy(cfg)
    hidden = max(1, round(channels * cfg.net.value_hidden / cfg.net.channels))
    c.net.num_blocks, c.net.channels, c.net.value_hidden = blocks, channels, hidden
    c.bootstrap.train_steps = steps
    return c


def self_agreement(game, player, batch_size: int, num_steps: int, key) -> dict:
    """How often ``player`` (batched ``(states, key) -> actions``) picks the same move twice, with two
    independent keys, at the positions of its own games: ``batch_size`` games played by its first
    pick for ``num_steps`` decisions (finished games stay finished). Positions with one legal move
    are left out. ``{"positions", "agreement"}``: the ceiling of any imitator's top-1 agreement with
    a player that breaks ties at random."""
    @jax.jit
    def run(key):
        k0, k = jax.random.split(key)
        states = jax.vmap(game.init)(jax.random.split(k0, batch_size))

        def body(states, k):
            k1, k2, k3 = jax.random.split(k, 3)
            a1, a2 = player(states, k1), player(states, k2)
            counted = ~(states.terminated | states.truncated) & (states.legal_action_mask.sum(-1) > 1)
            nxt = jax.vmap(game.step)(states, a1, jax.random.split(k3, batch_size))
            done = states.terminated | states.truncated
            nxt = jax.tree.map(lambda x, y: jnp.where(done.reshape((-1,) + (1,) * (x.ndim - 1)), x, y), states, nxt)
            return nxt, (counted, a1 == a2)

        _, (counted, same) = jax.lax.scan(body, states, jax.random.split(k, num_steps))
        chex.assert_shape(same, (num_steps, batch_size))
        return counted.sum(), jnp.sum(same & counted)

    n, agree = jax.device_get(run(key))
    return {"positions": int(n), "agreement": round(float(agree) / max(int(n), 1), 4)}


def capacity(cfg, game, specs: list[str], steps: int, games: int, seed: int = 0, log=print,
             progress: bool = False, ceiling_steps: int = 0) -> dict:
    """Plays the bootstrap's heuristic games once and trains and measures every net spec on them
    (module docstring). ``cfg`` must bootstrap (``bootstrap.num_steps > 0``) and have a heuristic.
    ``ceiling_steps`` > 0 also measures the heuristic's `self_agreement` over that many decisions of
    ``bootstrap.batch_size`` games."""
    nets = [parse_net(s) for s in specs]
    b = cfg.bootstrap
    if b.num_steps <= 0 or b.holdout_slots <= 0:
        raise ValueError("the config plays no bootstrap games or holds none out "
                         f"(bootstrap.num_steps={b.num_steps}, bootstrap.holdout_slots={b.holdout_slots})")
    if not nets:
        raise ValueError("no net spec given: name at least one, e.g. 2x32")
    if games > 0:
        check_num_games(games, game.num_players)
    k_slots, k_play, k_train = jax.random.split(jax.random.key(seed), 3)
    k_match = jax.random.key(seed + 1000)
    first = build_parts(shaped(cfg, *nets[0][:2], steps), game)
    if first.bootstrap_play is None or first.heuristic is None:
        raise ValueError("the config has no heuristic to imitate (config.heuristic.player = 'none')")
    window = heuristic_window(first, cfg, k_slots, k_play, progress)
    train, held_out = bootstrap_slots(cfg)
    n_train = train.stop
    held = window.batch(held_out)
    fit = window.batch(slice(0, held_out.stop - held_out.start))  # as many training games as held out
    out = {"game": cfg.game.name, "steps": steps, "batch_size": int(cfg.train.batch_size),
           "heuristic_positions": int(window.traj.done[:, train].size), "train_games_slots": n_train,
           "held_out_slots": held_out.stop - held_out.start, "play_seconds": round(window.seconds, 1),
           "games": games, "nets": {}}
    log(f"{out['heuristic_positions']} heuristic positions in {n_train} training slots "
        f"({window.seconds:.0f}s); {out['held_out_slots']} slots held out")
    if ceiling_steps > 0:
        out["ceiling"] = self_agreement(game, first.heuristic, b.batch_size, ceiling_steps, jax.random.key(seed + 2000))
        log(f"ceiling: the heuristic agrees with itself on {out['ceiling']['agreement']:.3f} of "
            f"{out['ceiling']['positions']} positions")
    for spec, (blocks, channels, fraction) in zip(specs, nets):
        c = shaped(cfg, blocks, channels, steps)
        parts = build_parts(c, game)
        used = max(out["held_out_slots"], round(fraction * n_train))
        data = window.batch(slice(0, used))
        buffer = replay.add(new_buffer(game, c), data.replace(game_id=jnp.full_like(data.game_id, -1)))
        ts = init_train_state(parts.params0, parts.optimizer)
        t0 = time.time()
        ts, step_metrics = train_steps(parts.train_step, ts, buffer, k_train, steps, c.train.batch_size,
                                       f"{spec}: training", progress)
        seconds = time.time() - t0
        if not trained_finite(ts, step_metrics):
            raise FloatingPointError(f"{spec}: training gave a non-finite loss or params")
        ev_held = jax.device_get(parts.evaluate(ts.params, held))
        ev_fit = jax.device_get(parts.evaluate(ts.params, fit))
        last = mean_metrics(step_metrics[-64:])
        row = {
            "blocks": blocks, "channels": channels, "train_slots": used,
            "params": int(sum(x.size for x in jax.tree.leaves(ts.params))),
            "train_seconds": round(seconds, 1),
            "loss_policy": round(last["loss/policy"], 4),
            "held_out": {"agreement": round(float(ev_held["policy_accuracy"]), 4),
                         "loss_value": round(float(ev_held["loss/value"]), 4)},
            "fit": {"agreement": round(float(ev_fit["policy_accuracy"]), 4),
                    "loss_value": round(float(ev_fit["loss/value"]), 4)},
        }
        if games > 0:
            t1 = time.time()
            res = parts.eval_arena.raw_policy_vs_player(ts.params, parts.heuristic, k_match, games)
            low, high = wilson_interval(res["score"], games)
            row["raw_vs_heuristic"] = {"score": round(res["score"], 4), "ci_low": round(low, 4),
                                       "ci_high": round(high, 4), "seconds": round(time.time() - t1, 1)}
        out["nets"][spec] = row
        log(f"{spec}: {row['params']} params, {seconds:.0f}s | agreement held-out {row['held_out']['agreement']:.3f} "
            f"fit {row['fit']['agreement']:.3f} | value loss held-out {row['held_out']['loss_value']:.3f} "
            f"fit {row['fit']['loss_value']:.3f}"
            + (f" | raw vs heuristic {row['raw_vs_heuristic']['score']:.3f} "
               f"[{row['raw_vs_heuristic']['ci_low']:.3f}, {row['raw_vs_heuristic']['ci_high']:.3f}]" if games > 0 else ""))
    return out
