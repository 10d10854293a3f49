"""Paranoid reduction: a vector-valued (per-seat) model searched by plain mctx, root seat vs the rest.

The seat to move at the root (the *root seat*) plays against a coalition of all other seats.
Every value or reward vector ``x [P]`` (absolute seats) is reduced to the root seat's utility

    u(x) = (x[root] - reduce_{s != root} x[s]) / 2,      reduce = "max" (default) or "mean"

(the ``/ 2`` keeps ``u`` in [-1, 1] for values in [-1, 1], and makes ``u(x) = x[root]`` exactly
for two-player zero-sum vectors, so with two players this *is* mctx's usual 2-player search).

mctx's 2-player convention is then applied with "sides": side(n) = +1 when the root seat moves
at node n, -1 otherwise. The scalar model mctx sees has

    value(n)       = side(n) * u(value_vec(n))              (from n's mover's side)
    reward(p -> c) = side(p) * u(reward_vec)                (from p's mover's side)
    discount(p->c) = side(p) * side(c) * discount_vec       (-1 when the side changes, 0 terminal)

so mctx's ``Q(p, a) = reward + discount * value(c) = side(p) * (u(reward) + d * u(value(c)))``:
the root seat maximises u, every opponent minimises it. ``u`` is applied to the reward and to
the value separately, which equals ``u(reward + d * value)`` for ``reduce="mean"`` (u is linear)
and for ``reduce="max"`` whenever non-zero rewards only come with terminal transitions (d = 0),
as in board games. Knows nothing about any particular game.
"""

from __future__ import annotations

from typing import Any, Optional

import chex
import jax.numpy as jnp
import mctx

from jaxzero.search.common import SearchBudget, SearchOutput, run_policy, search_slots
from jaxzero.search.vector_model import MaxnRootFnOutput, make_maxn_model

REDUCTIONS = ("max", "mean")


@chex.dataclass(frozen=True)
class ParanoidEmbedding:
    """What mctx stores per node: the model's embedding, the root seat and the seat to move (``[B]`` int32)."""

    inner: Any
    root_seat: chex.Array
    to_play: chex.Array


def paranoid_utility(values, root_seat, reduce: str = "max"):
    """``(values[root] - reduce_{s != root} values[s]) / 2`` for ``values [..., P]``, ``root_seat [...]``."""
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be one of {REDUCTIONS}, got {reduce!r}")
    chex.assert_shape(root_seat, values.shape[:-1])
    p = values.shape[-1]
    is_root = jnp.arange(p) == root_seat[..., None]
    own = jnp.sum(jnp.where(is_root, values, 0.0), axis=-1)
    if reduce == "max":
        others = jnp.max(jnp.where(is_root, -jnp.inf, values), axis=-1)
    else:
        others = jnp.sum(jnp.where(is_root, 0.0, values), axis=-1) / (p - 1)
    return (own - others) / 2


def _side(to_play, root_seat):
    return jnp.where(to_play == root_seat, 1.0, -1.0)


def make_paranoid_root(root: MaxnRootFnOutput, reduce: str = "max") -> mctx.RootFnOutput:
    """The scalar ``mctx.RootFnOutput`` of a `MaxnRootFnOutput` (root seat = ``root.to_play``)."""
    chex.assert_rank([root.prior_logits, root.value, root.to_play], [2, 2, 1])
    seat = root.to_play.astype(jnp.int32)
    return mctx.RootFnOutput(
        prior_logits=root.prior_logits,
        value=paranoid_utility(root.value, seat, reduce),
        embedding=ParanoidEmbedding(inner=root.embedding, root_seat=seat, to_play=seat),
    )


def make_paranoid_recurrent_fn(recurrent_fn, reduce: str = "max"):
    """Wraps a vector ``recurrent_fn`` (returning `MaxnRecurrentFnOutput`) as an mctx ``recurrent_fn``
    over `ParanoidEmbedding` s (see the module docstring for the sign rules)."""

    def paranoid_recurrent_fn(params, rng_key, action, embedding: ParanoidEmbedding):
        out, inner = recurrent_fn(params, rng_key, action, embedding.inner)
        batch = action.shape[0]
        chex.assert_shape(out.to_play, (batch,))
        chex.assert_shape(out.discount, (batch,))
        seat = embedding.root_seat
        to_play = out.to_play.astype(jnp.int32)
        side_parent = _side(embedding.to_play, seat)
        side_child = _side(to_play, seat)
        step = mctx.RecurrentFnOutput(
            reward=side_parent * paranoid_utility(out.reward, seat, reduce),
            discount=out.discount * side_parent * side_child,
            prior_logits=out.prior_logits,
            value=side_child * paranoid_utility(out.value, seat, reduce),
        )
        return step, ParanoidEmbedding(inner=inner, root_seat=seat, to_play=to_play)

    return paranoid_recurrent_fn


def paranoid_gumbel_muzero_policy(
    params, rng_key, root: MaxnRootFnOutput, recurrent_fn, num_simulations: int, *args, reduce: str = "max", **kwargs
) -> mctx.PolicyOutput:
    """``mctx.gumbel_muzero_policy`` on the paranoid reduction of a vector model.

    ``root`` is a `MaxnRootFnOutput` (``prior_logits [B, A]``, ``value [B, P]``, ``to_play [B]``),
    ``recurrent_fn`` returns `MaxnRecurrentFnOutput` s; every other argument (``invalid_actions [B,
    A]``, ``max_depth``, ``qtransform``, ``max_num_considered_actions``, ``gumbel_scale``, ...) is
    mctx's, passed on unchanged, plus ``reduce``. Returns ``action [B]``, ``action_weights [B, A]``
    and a ``search_tree`` that is an ``mctx.Tree`` of scalar paranoid utilities (root seat's side
    at the root).
    """
    out = mctx.gumbel_muzero_policy(
        params,
        rng_key,
        make_paranoid_root(root, reduce),
        make_paranoid_recurrent_fn(recurrent_fn, reduce),
        num_simulations,
        *args,
        **kwargs,
    )
    chex.assert_shape(out.action_weights, root.prior_logits.shape)
    return out


def run_paranoid_search(
    game,
    apply_fn,
    budget: SearchBudget,
    params,
    states,
    key,
    *,
    max_depth: Optional[int] = None,
    reduce: str = "max",
) -> SearchOutput:
    """Paranoid search (the root seat against the rest, `paranoid_gumbel_muzero_policy` on
    `make_maxn_model`) from a batch of game states of a game of 2-4 players.

    Arguments as `jaxzero.search.maxn.run_maxn_search`, plus ``reduce`` (``"max"`` or ``"mean"``,
    how the opponents' values combine). Returns ``SearchOutput(action [B], action_weights [B, A],
    search_tree, legal_overflow [B])`` with an ``mctx.Tree`` of the root seat's utilities. Jit-compatible; ``budget``,
    ``max_depth`` and ``reduce`` are static.
    """
    model = make_maxn_model(game, apply_fn)
    options = dict(num_slots=search_slots(game, budget), max_depth=max_depth, reduce=reduce)
    return run_policy(paranoid_gumbel_muzero_policy, model, budget, params, states, key, **options)
