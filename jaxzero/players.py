"""Network-free players for mixed self-play data and the Elo anchors.

A player is a pure batched function ``(states, key) -> int32 actions [B]`` (the `jaxzero.match`
convention). `heuristic_player_for` picks the heuristic of a game:

* a game that offers ``heuristic_player(weights=None, epsilon=0.0)`` (a protocol hook; it must
  return such a batched player) gets its own;
* RingRift (``jaxzero.games.ringrift``) gets its one-ply greedy evaluation player
  (`jaxzero.games.ringrift.heuristic.heuristic_player`);
* any other game gets the generic `greedy_reward_player`: one ply, it plays a move that wins at
  once (the largest immediate reward for the mover), ties broken uniformly at random. For
  tic-tac-toe and connect four that is "take a win when there is one, else random".

``config.heuristic.player`` chooses: ``"auto"`` (the above), ``"greedy"`` (the generic player for
any game) or ``"none"`` (no heuristic: mixed data and the heuristic anchor are refused/skipped).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxzero.games.masks import uniform_legal

HEURISTIC_KINDS = ("auto", "greedy", "none")


def check_heuristic_kind(kind: str) -> None:
    """Raises ValueError unless ``kind`` is one of `HEURISTIC_KINDS`."""
    if kind not in HEURISTIC_KINDS:
        raise ValueError(f"unknown heuristic {kind!r}; known: {', '.join(HEURISTIC_KINDS)}")


def random_player(states, key):
    """Uniformly random legal action per game."""
    return uniform_legal(key, states.legal_action_mask)


def policy_player(game, apply_fn, params):
    """The network's raw policy, no search: the argmax of its logits over the legal actions."""

    def player(states, key):
        logits, _ = apply_fn(params, jax.vmap(game.observe)(states))
        return jnp.argmax(jnp.where(states.legal_action_mask, logits, -jnp.inf), axis=-1).astype(jnp.int32)

    return player


def greedy_reward_player(game, epsilon: float = 0.0):
    """Generic one-ply player: every legal action is applied (vmapped over the action space) and the
    one with the largest immediate reward for the mover is played; ties (and an ``epsilon`` share of
    moves) are uniformly random."""
    num_actions = game.num_actions
    actions = jnp.arange(num_actions, dtype=jnp.int32)

    def one(state, key):
        k_step, k_tie, k_eps, k_rand = jax.random.split(key, 4)
        succ = jax.vmap(lambda a: game.step(state, a, k_step))(actions)
        gain = succ.rewards[:, state.current_player]
        legal = state.legal_action_mask
        noise = jax.random.uniform(k_tie, (num_actions,), maxval=1e-3)
        best = jnp.argmax(jnp.where(legal, gain + noise, -jnp.inf))
        rand = uniform_legal(k_rand, legal)
        return jnp.where(jax.random.uniform(k_eps) < epsilon, rand, best).astype(jnp.int32)

    def player(states, key):
        keys = jax.random.split(key, states.legal_action_mask.shape[0])
        return jax.vmap(one)(states, keys)

    return player


def _is_ringrift(game) -> bool:
    return type(game).__module__.startswith("jaxzero.games.ringrift")


def heuristic_player_for(game, heuristic_cfg):
    """``(name, player)`` of the heuristic this config asks for on ``game``, or ``(None, None)`` for
    ``player = "none"``. See the module docstring for the choice."""
    kind = heuristic_cfg.player
    check_heuristic_kind(kind)
    epsilon = float(heuristic_cfg.epsilon)
    weights = dict(heuristic_cfg.weights) if "weights" in heuristic_cfg else {}
    if kind == "none":
        return None, None
    if kind == "greedy":
        return "greedy", greedy_reward_player(game, epsilon)
    hook = getattr(game, "heuristic_player", None)
    if callable(hook):
        return "heuristic", hook(weights=weights or None, epsilon=epsilon)
    if _is_ringrift(game):
        from jaxzero.games.ringrift.heuristic import heuristic_player

        return "heuristic", heuristic_player(game.cfg, weights or None, epsilon)
    return "greedy", greedy_reward_player(game, epsilon)
