"""The parts a run is made of (game, network, optimizer, self-play, arenas, train step), built once per config.

A `Loop` receives its parts instead of building them (turbozero's trainer shape); `build_parts`
caches them by config (without its ``loop`` section: run length and checkpoint count change no
traced function), so a second `Loop` on the same config in one process (a resume, as the tests do)
reuses the jitted self-play, arena and train functions instead of re-tracing them (minutes for
RingRift on CPU).

The run's device mesh (`jaxzero.mesh`, ``config.mesh``) is built here once: self-play, the
bootstrap's games, the train step, the evaluation and every arena run on it.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from typing import Any, Callable

from jaxzero import config as config_lib
from jaxzero import mesh as mesh_lib
from jaxzero.arena import Arena
from jaxzero.nn import make_inference_model, make_model
from jaxzero.players import heuristic_player_for
from jaxzero.selfplay import PlayerPlay, SelfPlay
from jaxzero.train import make_eval_fn, make_optimizer, make_train_step


@dataclasses.dataclass(frozen=True, eq=False)
class Parts:
    """Everything compiled that one run config needs; shared by every `Loop` with that config."""

    game: Any
    mesh: Any  # jax.sharding.Mesh, axis "data": the run's devices (one device: a mesh of one)
    model: Any  # jaxzero.nn.Model: ``model.apply(params, obs) -> (logits, values)``
    params0: Any  # the freshly initialised network (seed ``config.seed``)
    optimizer: Any
    selfplay: SelfPlay
    bootstrap_play: PlayerPlay | None  # heuristic games without search (config.bootstrap), or None
    arena: Arena  # the gate: candidate vs best at the self-play budget
    eval_arena: Arena  # the best's anchor matches, at the evaluation budget
    heuristic_name: str | None
    heuristic: Callable | None  # batched network-free player, or None (config.heuristic.player = "none")
    vs_heuristic: Callable | None  # ``(params, key, num_games) -> summary`` of the best vs the heuristic
    raw_vs_heuristic: Callable | None  # the same for the best's raw policy (no search)
    train_step: Callable
    evaluate: Callable


_CACHE: dict[str, Parts] = {}
_CACHE_SIZE = 4


def build_parts(cfg, game) -> Parts:
    """The `Parts` of a validated config ``cfg`` on ``game``, built once per config (cached)."""
    key = json.dumps({k: v for k, v in config_lib.to_json(cfg).items() if k != "loop"}, sort_keys=True)
    if key not in _CACHE:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = _build(cfg, game)
    return _CACHE[key]


def _value_prior(cfg, game):
    """The self-play search's leaf-value prior (`SelfPlay.value_prior`): the game's
    ``heuristic_values`` at the config's scale, or None when the config uses none."""
    if not config_lib.uses_value_prior(cfg):
        return None
    return functools.partial(game.heuristic_values, scale=float(cfg.selfplay.prior_value_scale))  # validated


def _bootstrap_target(cfg, game):
    """The bootstrap positions' policy target (`PlayerPlay.target`): the game's ``heuristic_policy``
    at ``bootstrap.policy_temperature`` with the config's heuristic weights, or None (< 0: a one-hot
    of the move played)."""
    t = float(cfg.bootstrap.policy_temperature)
    if t < 0:
        return None
    weights = dict(cfg.heuristic.weights) if "weights" in cfg.heuristic else None
    return functools.partial(game.heuristic_policy, temperature=t, weights=weights or None)  # validated


def _build(cfg, game) -> Parts:
    mesh = mesh_lib.mesh_from_config(cfg)
    model, params0 = make_model(cfg.net, game, cfg.seed)
    infer = make_inference_model(cfg.net, game)  # self-play and matches: bfloat16 on an accelerator
    selfplay_budget, eval_budget = config_lib.search_budgets(cfg)
    heuristic_name, heuristic = heuristic_player_for(game, cfg.heuristic)
    mixing = max(cfg.mix.heuristic_share, cfg.mix.final_share) > 0
    arena = Arena(game, infer.apply, **selfplay_budget, opening_moves=cfg.arena.opening_moves,
                  max_moves=cfg.arena.max_moves, search=cfg.selfplay.search, mesh=mesh)
    # the best's anchor matches may search with a larger budget than self-play and the gate
    eval_arena = arena if eval_budget == selfplay_budget else dataclasses.replace(arena, **eval_budget)
    vs_heuristic = raw_vs_heuristic = None
    if heuristic is not None and cfg.elo.enabled and cfg.elo.heuristic_games > 0:
        vs_heuristic = functools.partial(eval_arena.vs_player, player=heuristic)
        raw_vs_heuristic = functools.partial(eval_arena.raw_policy_vs_player, player=heuristic)
    return Parts(
        game=game,
        mesh=mesh,
        model=model,
        params0=params0,
        optimizer=(optimizer := make_optimizer(cfg.train, cfg.bootstrap.train_steps)),
        selfplay=SelfPlay.from_config(game, infer.apply, cfg, heuristic=heuristic if mixing else None,
                                     mesh=mesh, value_prior=_value_prior(cfg, game)),
        bootstrap_play=PlayerPlay(game, heuristic, cfg.game.max_moves, mesh, target=_bootstrap_target(cfg, game))
        if cfg.bootstrap.num_steps > 0 else None,
        arena=arena,
        eval_arena=eval_arena,
        heuristic_name=heuristic_name,
        heuristic=heuristic,
        vs_heuristic=vs_heuristic,
        raw_vs_heuristic=raw_vs_heuristic,
        train_step=make_train_step(model.apply, optimizer, cfg.train.value_loss_weight, mesh,
                                   cfg.train.search_policy_weight, cfg.train.value_q_weight),
        evaluate=make_eval_fn(model.apply, cfg.train.value_loss_weight, mesh),
    )
