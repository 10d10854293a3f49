"""Max^n search vs mctx: test models, position sampler and the `bench_search` microbenchmark.

* `linear_model` -- a tiny deterministic network (one fixed random linear layer on the flattened
  observation, value ``tanh``) with mover-relative zero-sum values ``[v, -v, ...]``.
* `make_mctx_two_player_model` -- the usual 2-player mctx model of a game (rewards and values from
  the mover's view, ``discount = -1`` when the mover changes, 0 at a terminal state).
* `random_positions` -- a batch of non-terminal positions reached by random play.
* `bench_search` -- times ``mctx.gumbel_muzero_policy`` and `maxn_gumbel_muzero_policy` on the same
  game, network, positions, simulations and batch, and reports the ratio.

Command line (pgx games, linear network)::

    python -m jaxzero.search.bench --game connect_four --batch 256 --simulations 32

Knows nothing about any particular game (works with any `jaxzero.games.protocol.Game`).
"""

from __future__ import annotations

import argparse
import time

import chex
import jax
import jax.numpy as jnp
import mctx
import numpy as np

from jaxzero.games.masks import uniform_legal
from jaxzero.search.maxn import ILLEGAL_LOGIT, make_maxn_model, maxn_gumbel_muzero_policy


def linear_model(game, key, *, logit_scale: float = 0.5, value_scale: float = 0.3):
    """``(apply_fn, params)``: ``logits = x W``, ``v = tanh(x w)``, values ``[v, -v]`` (2 players) or
    ``[v, -v/(P-1), ...]`` (mover-relative), ``x`` the flattened observation."""
    d = int(np.prod(game.observation_shape))
    k1, k2 = jax.random.split(key)
    params = {
        "W": jax.random.normal(k1, (d, game.num_actions)) * logit_scale,
        "w": jax.random.normal(k2, (d,)) * value_scale,
    }
    p = game.num_players

    def apply_fn(params, obs):
        x = obs.reshape(obs.shape[0], -1).astype(jnp.float32)
        v = jnp.tanh(x @ params["w"])
        others = jnp.broadcast_to((-v / (p - 1))[:, None], (v.shape[0], p - 1))
        return x @ params["W"], jnp.concatenate([v[:, None], others], axis=-1)

    return apply_fn, params


def make_mctx_two_player_model(game, apply_fn):
    """``(root_fn, recurrent_fn)`` for ``mctx.gumbel_muzero_policy`` in the 2-player convention.

    Values are the mover's (``values[:, 0]`` of the mover-relative network output), the reward is
    the reward of the seat that moved, ``discount`` is -1 when the mover changes, +1 when it moves
    again, 0 at a terminal state.
    """

    def root_fn(params, states):
        logits, values = apply_fn(params, jax.vmap(game.observe)(states))
        return mctx.RootFnOutput(
            prior_logits=jnp.where(states.legal_action_mask, logits, ILLEGAL_LOGIT).astype(jnp.float32),
            value=values[:, 0].astype(jnp.float32),
            embedding=states,
        )

    def recurrent_fn(params, key, action, state):
        batch = action.shape[0]
        prev_player = state.current_player
        prev_done = state.terminated | state.truncated
        next_state = jax.vmap(game.step)(state, action, jax.random.split(key, batch))
        logits, values = apply_fn(params, jax.vmap(game.observe)(next_state))
        done = next_state.terminated | next_state.truncated
        reward = jnp.take_along_axis(next_state.rewards, prev_player[:, None], axis=1)[:, 0]
        discount = jnp.where(done, 0.0, jnp.where(next_state.current_player == prev_player, 1.0, -1.0))
        out = mctx.RecurrentFnOutput(
            reward=jnp.where(prev_done, 0.0, reward).astype(jnp.float32),
            discount=discount.astype(jnp.float32),
            prior_logits=jnp.where(next_state.legal_action_mask, logits, ILLEGAL_LOGIT).astype(jnp.float32),
            value=jnp.where(done, 0.0, values[:, 0]).astype(jnp.float32),
        )
        return out, next_state

    return root_fn, recurrent_fn


def random_positions(game, key, batch: int, max_moves: int):
    """``batch`` non-terminal positions after a uniform number in ``[0, max_moves)`` of random legal moves
    (a move that would end the game is not made). Jittable with static ``batch``, ``max_moves``."""
    k_init, k_len, k_play = jax.random.split(key, 3)
    states = jax.vmap(game.init)(jax.random.split(k_init, batch))
    length = jax.random.randint(k_len, (batch,), 0, max_moves)

    def body(i, carry):
        states, key = carry
        key, k_act, k_step = jax.random.split(key, 3)
        action = uniform_legal(k_act, states.legal_action_mask)
        nxt = jax.vmap(game.step)(states, action, jax.random.split(k_step, batch))
        keep = nxt.terminated | nxt.truncated | (i >= length)

        def pick(old, new):
            return jnp.where(keep.reshape(keep.shape + (1,) * (old.ndim - 1)), old, new)

        return jax.tree.map(pick, states, nxt), key

    states, _ = jax.lax.fori_loop(0, max_moves, body, (states, k_play))
    return states


def make_search_pair(game, apply_fn, *, num_simulations, max_num_considered_actions, max_depth=None, gumbel_scale=1.0):
    """Two jitted ``search(params, states, key) -> PolicyOutput``: ``(mctx 2-player, max^n)`` on the same model."""
    mctx_root, mctx_rec = make_mctx_two_player_model(game, apply_fn)
    maxn_root, maxn_rec = make_maxn_model(game, apply_fn)
    kwargs = dict(
        max_depth=max_depth,
        max_num_considered_actions=max_num_considered_actions,
        gumbel_scale=gumbel_scale,
    )

    @jax.jit
    def run_mctx(params, states, key):
        return mctx.gumbel_muzero_policy(
            params,
            key,
            mctx_root(params, states),
            mctx_rec,
            num_simulations,
            invalid_actions=~states.legal_action_mask,
            **kwargs,
        )

    @jax.jit
    def run_maxn(params, states, key):
        return maxn_gumbel_muzero_policy(
            params,
            key,
            maxn_root(params, states),
            maxn_rec,
            num_simulations,
            invalid_actions=~states.legal_action_mask,
            **kwargs,
        )

    return run_mctx, run_maxn


def bench_search(
    game,
    apply_fn,
    params,
    states,
    *,
    num_simulations: int = 32,
    max_num_considered_actions: int = 16,
    max_depth=None,
    repeats: int = 5,
    seed: int = 0,
) -> dict:
    """Wall time of mctx vs max^n Gumbel search on the same game, network, batch of ``states``.

    ``apply_fn(params, obs) -> (logits [B, A], mover-relative values [B, P])``; mctx uses
    ``values[:, 0]`` in the 2-player convention (only meaningful for 2-player games, which is what
    the comparison is for), max^n the whole vector. Compiles both first (not timed), then times
    ``repeats`` calls of each, alternating, with fresh keys; reports medians in seconds, their
    ratio ``maxn_s / mctx_s`` (also the ratio of host CPU seconds, steadier on a shared CPU) and
    the agreement of the chosen actions (1.0 expected for a 2-player zero-sum game).
    """
    chex.assert_rank(states.legal_action_mask, 2)
    run_mctx, run_maxn = make_search_pair(
        game,
        apply_fn,
        num_simulations=num_simulations,
        max_num_considered_actions=max_num_considered_actions,
        max_depth=max_depth,
    )
    key = jax.random.PRNGKey(seed)
    a = jax.block_until_ready(run_mctx(params, states, key))
    b = jax.block_until_ready(run_maxn(params, states, key))
    agree = float(jnp.mean(a.action == b.action))
    times = {"mctx": [], "maxn": []}
    cpu = {"mctx": [], "maxn": []}
    for i in range(repeats):
        k = jax.random.fold_in(key, i + 1)
        for name, fn in (("mctx", run_mctx), ("maxn", run_maxn)):
            t0, c0 = time.perf_counter(), time.process_time()
            jax.block_until_ready(fn(params, states, k).action_weights)
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    mctx_s = float(np.median(times["mctx"]))
    maxn_s = float(np.median(times["maxn"]))
    return {
        "batch": int(states.legal_action_mask.shape[0]),
        "num_simulations": num_simulations,
        "mctx_s": mctx_s,
        "maxn_s": maxn_s,
        "ratio": maxn_s / mctx_s,
        # host CPU seconds (all threads): steadier than wall time on a shared CPU; meaningless on GPU
        "cpu_ratio": float(np.median(cpu["maxn"]) / np.median(cpu["mctx"])),
        "action_agreement": agree,
        "device": str(jax.devices()[0]),
    }


def main(argv=None):
    from jaxzero.games.registry import make_game

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--game", default="connect_four")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--simulations", type=int, default=32)
    parser.add_argument("--considered", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--max-moves", type=int, default=20)
    args = parser.parse_args(argv)
    game = make_game(args.game)
    apply_fn, params = linear_model(game, jax.random.PRNGKey(0))
    states = jax.jit(lambda k: random_positions(game, k, args.batch, args.max_moves))(jax.random.PRNGKey(1))
    result = bench_search(
        game,
        apply_fn,
        params,
        states,
        num_simulations=args.simulations,
        max_num_considered_actions=args.considered,
        repeats=args.repeats,
    )
    print(result)
    return result


if __name__ == "__main__":
    main()
