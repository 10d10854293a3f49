"""Which training targets of a run make its net stronger? (`scripts/bench.py targets`, issue 18)

From a run's bootstrap net (``<workdir>/bootstrap_net``), fine-tune on the search self-play rows of
its latest checkpoint's replay buffer with the policy and value losses weighted per variant, then play
each fine-tuned net against the bootstrap net at the run's self-play budget (deterministic search,
the config's random openings, seats rotated). A variant that trains on targets which carry knowledge
beyond the bootstrap scores above 0.5; one whose targets mislead scores below.

``--against heuristic-raw`` asks the other question: does a variant's raw policy (no search) play
the heuristic better than the bootstrap net's raw policy does, with the same openings?

Variants: ``P`` (policy loss only), ``V`` (value loss only), ``PV`` (both, as the loop trains), or
``p<w>v<w>`` (weights, e.g. ``p0.25v1``). Every variant starts from the same net with a fresh
AdamW at a constant learning rate and samples the same rows; 2,000 search rows with value targets are
held out (``held_out``) and reported (policy loss, value loss, top-1 agreement with the target's argmax, entropy of
the net's legal policy).
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxzero import replay
from jaxzero.arena import Arena
from jaxzero.checkpoint import BOOTSTRAP_NET, Checkpointer, restore_params
from jaxzero.config import fill_defaults, search_budgets
from jaxzero.games.registry import make_game
from jaxzero.loop.state import initial_state, resume_target
from jaxzero.match import wilson_interval
from jaxzero.nn import make_model
from jaxzero.players import heuristic_player_for
from jaxzero.search import mask_logits
from jaxzero.train import losses, make_optimizer

NAMED = {"P": (1.0, 0.0), "V": (0.0, 1.0), "PV": (1.0, 1.0)}
HELD_OUT = 2000


def parse_variant(spec: str) -> tuple[float, float]:
    """``(policy weight, value weight)`` of a variant name (``P``, ``V``, ``PV`` or ``p<w>v<w>``)."""
    if spec in NAMED:
        return NAMED[spec]
    m = re.fullmatch(r"p([0-9.]+)v([0-9.]+)", spec)
    if m is None:
        raise ValueError(f"unknown variant {spec!r}: use P, V, PV or p<weight>v<weight> (e.g. p0.25v1)")
    return float(m.group(1)), float(m.group(2))


def load_run(workdir: str | Path):
    """``(config, game, model, bootstrap params, replay buffer)`` of a workdir's latest checkpoint
    (read only: a bad step is skipped, never moved)."""
    workdir = Path(workdir)
    if not (workdir / BOOTSTRAP_NET).is_dir():
        raise ValueError(f"{workdir} has no {BOOTSTRAP_NET}/ (the run did not bootstrap from the heuristic)")
    ckpt = Checkpointer(workdir / "checkpoints", warn=lambda s: print(s, file=sys.stderr), reject=False)
    try:
        raw = ckpt.newest_readable_config()
        if raw is None:
            raise ValueError(f"no complete checkpoint in {workdir / 'checkpoints'}")
        cfg = fill_defaults(ml_collections.ConfigDict(raw))
        game = make_game(cfg.game.name)
        model, params0 = make_model(cfg.net, game, cfg.seed)
        abstract = jax.eval_shape(lambda: initial_state(params0, make_optimizer(cfg.train), cfg.seed))
        found = ckpt.resume_latest_verified(abstract, lambda info: resume_target(game, cfg, params0, info),
                                            warn=lambda s: print(s, file=sys.stderr), reject=False)
    finally:
        ckpt.close()
    _, _, _, _, saved = found
    if isinstance(saved, str):
        raise ValueError(f"the latest checkpoint of {workdir} has no replay buffer that fits: {saved}")
    return cfg, game, model, restore_params(workdir / BOOTSTRAP_NET, params0), saved[0]["buffer"]


AGAINST = ("bootstrap", "heuristic-raw")


def target_ablation(workdir, variants, steps: int = 320, games: int = 192, learning_rate: float = 3e-4,
                    seed: int = 0, log=print, held_out: int = HELD_OUT, against: str = "bootstrap") -> dict:
    """Fine-tunes the bootstrap net of ``workdir`` per variant and plays each against it (module docstring).

    ``against="heuristic-raw"``: each variant's raw policy (argmax over legal logits, no search) plays
    the run's heuristic instead, and the bootstrap net's raw policy once with the same openings as the
    baseline: do the targets teach the network itself more than its teacher knew?"""
    if against not in AGAINST:
        raise ValueError(f"unknown opponent {against!r}: use one of {', '.join(AGAINST)}")
    weights = {v: parse_variant(v) for v in variants}
    cfg, game, model, boot, buf = load_run(workdir)
    size = int(buf.size)
    src = np.asarray(buf.data.source[:size])
    with_value = np.asarray(buf.data.value_mask[:size])
    rng = np.random.default_rng(seed)
    searched = np.nonzero(src == replay.SOURCE_SEARCH)[0]
    labelled = np.nonzero((src == replay.SOURCE_SEARCH) & with_value)[0]
    if len(searched) < 2 * held_out or len(labelled) < held_out:
        raise ValueError(f"{workdir}'s buffer has {len(searched)} search rows ({len(labelled)} with value targets); "
                         f"the ablation holds out {held_out} labelled ones and needs twice as many rows")
    held_out = rng.choice(labelled, held_out, replace=False)
    pool = np.setdiff1d(searched, held_out)
    opt = optax.adamw(learning_rate, weight_decay=cfg.train.weight_decay)

    # every row trained on is a searched one, so `losses` weighs its policy loss by wp and its value loss by wv
    def loss(params, batch, wp, wv):
        return losses(model.apply, params, batch, value_loss_weight=wv, search_policy_weight=wp)

    # the buffer and the held-out ids are arguments, not closed-over constants (XLA would spend
    # minutes constant-folding a gather from a 65,536-row buffer)
    @jax.jit
    def step(params, opt_state, buf, idx, wp, wv):
        grads = jax.grad(lambda p: loss(p, replay.rows(buf, idx), wp, wv)[0])(params)
        updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    @jax.jit
    def held_out_rows_metrics(params, buf, held_out_ids):
        batch = replay.rows(buf, held_out_ids)
        _, m = loss(params, batch, 1.0, 1.0)
        logits = mask_logits(model.apply(params, batch.obs)[0], batch.legal)
        probs = jax.nn.softmax(logits, -1)
        entropy = -jnp.sum(jnp.where(batch.legal, probs * jnp.log(jnp.maximum(probs, 1e-30)), 0.0), -1)
        top1 = jnp.argmax(logits, -1) == jnp.argmax(batch.policy, -1)
        return dict(policy_loss=m["loss/policy"], value_loss=m["loss/value"], top1=top1.mean(),
                    entropy=entropy.mean())

    held_out_ids = jnp.asarray(held_out)

    def held_out_metrics(params):
        return held_out_rows_metrics(params, buf, held_out_ids)

    budget = search_budgets(cfg)[0]
    arena = Arena(game, model.apply, **budget, opening_moves=cfg.arena.opening_moves,
                  max_moves=cfg.arena.max_moves, search=cfg.selfplay.search)
    if against == "bootstrap":
        def play(params):
            return arena.match(params, boot, jax.random.key(seed + 1000), games)
    else:
        _, heuristic = heuristic_player_for(game, cfg.heuristic)
        if heuristic is None:
            raise ValueError(f"{workdir}'s config has no heuristic (config.heuristic.player = 'none')")

        def play(params):
            return arena.raw_policy_vs_player(params, heuristic, jax.random.key(seed + 1000), games)

    def as_floats(d):
        return {k: round(float(v), 4) for k, v in d.items()}

    out = {"workdir": str(workdir), "game": cfg.game.name, "buffer_rows": size, "search_rows": int(len(searched)),
           "steps": steps, "games": games, "learning_rate": learning_rate, **budget, "against": against,
           "bootstrap": as_floats(held_out_metrics(boot)), "variants": {}}
    log(f"bootstrap held-out: {out['bootstrap']}")
    if against != "bootstrap":
        res = play(boot)
        low, high = wilson_interval(res["score"], games)
        out["bootstrap_score"] = {"score": round(res["score"], 4), "ci_low": round(low, 4), "ci_high": round(high, 4)}
        log(f"bootstrap net's raw policy vs the heuristic: {res['score']:.3f} [{low:.3f}, {high:.3f}] over {games} games")
    for v, (wp, wv) in weights.items():
        params, opt_state = boot, opt.init(boot)
        t0 = time.time()
        for s in range(steps):
            idx = jnp.asarray(rng.choice(pool, cfg.train.batch_size))
            params, opt_state = step(params, opt_state, buf, idx, jnp.float32(wp), jnp.float32(wv))
        metrics = as_floats(held_out_metrics(params))
        t1 = time.time()
        res = play(params)
        low, high = wilson_interval(res["score"], games)
        row = {"policy_weight": wp, "value_weight": wv, "held_out": metrics, "score": round(res["score"], 4),
               "ci_low": round(low, 4), "ci_high": round(high, 4), "train_seconds": round(t1 - t0, 1),
               "match_seconds": round(time.time() - t1, 1)}
        out["variants"][v] = row
        log(f"{v}: vs {against} {row['score']:.3f} [{low:.3f}, {high:.3f}] over {games} games; held-out {metrics}")
    return out
