"""Max^n Gumbel MuZero search: a vector-valued tree for games of 2 to 4 players.

mctx backs up one scalar per node, which is only right for two-player zero-sum games (with the
sign flip hidden in ``discount = -1``). This search stores one value per *seat* at every node and
every node chooses with the component of the seat that moves there (max^n), while keeping all of
Gumbel MuZero: Gumbel top-k + sequential halving at the root, the deterministic improved-policy
selection at interior nodes, completed Q-values (mix value) and the improved policy
``softmax(logits + sigma(completed_q))`` as the policy target.

The model is a vector model (`jaxzero.search.vector_model`: `MaxnRootFnOutput`,
`MaxnRecurrentFnOutput`, values over absolute seats, ``to_play`` at every node, no sign flips). A
node reached by the same player moving again needs nothing special.
``Q(s, a) = reward(s, a) + discount(s, a) * V(child)`` is a vector; node ``s`` chooses with
``Q(s, a)[to_play(s)]``.

Everything that is not specific to vectors is mctx's own code: the tree keeps, beside the
vectors, mctx's scalar arrays *as seen by the mover* (each child edge in its parent's mover's
component, each node's value in its own mover's), so `mover_view` repackages it as an
``mctx.Tree`` without copying and mctx's ``qtransform``, ``gumbel_muzero_root_action_selection``,
``gumbel_muzero_interior_action_selection``, ``simulate`` and sequential-halving scoring run on it
unchanged. With two zero-sum players the result is ``mctx.gumbel_muzero_policy`` up to float
rounding: same actions, same visit counts, weights within ~1e-6 (tests/test_maxn.py).

This module knows nothing about any particular game; `run_maxn_search` searches any
`jaxzero.games.protocol.Game` through `jaxzero.search.vector_model.make_maxn_model`.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar, Optional

import chex
import jax
import jax.numpy as jnp
import mctx
from mctx._src import action_selection as _mctx_selection
from mctx._src import search as _mctx_search
from mctx._src import seq_halving as _seq_halving

from jaxzero.search.common import SearchBudget, SearchOutput, run_policy, search_slots
from jaxzero.search.vector_model import MaxnRootFnOutput, make_maxn_model


@chex.dataclass(frozen=True)
class MaxnSearchSummary:
    """Root statistics: visit counts/probs ``[B, A]``, value ``[B, P]``, vector Q ``[B, A, P]``, to_play ``[B]``."""

    visit_counts: chex.Array
    visit_probs: chex.Array
    value: chex.Array
    qvalues: chex.Array
    to_play: chex.Array


@chex.dataclass(frozen=True)
class MaxnTree:
    """A batch of vector-valued search trees (``B`` batch, ``N`` nodes, ``A`` actions, ``P`` seats).

    Per node (vectors over absolute seats):

    node_visits: ``[B, N]`` int32 visit counts.
    raw_values: ``[B, N, P]`` the model's value of each node.
    node_values: ``[B, N, P]`` running mean of the value vectors backed up through each node.
    node_to_play: ``[B, N]`` int32 seat to move at each node.
    mover_raw_values, mover_node_values: ``[B, N]`` the same two values seen by each node's own
      mover (``x[n, node_to_play[n]]``), kept so that the per-node choice needs no gather.
    node_rewards: ``[B, N, P]`` reward vector of the edge from the parent into the node.
    parents, action_from_parent: ``[B, N]`` int32 (``NO_PARENT`` at the root).

    Per child edge, as in ``mctx.Tree`` and **seen by the seat to move at the parent** (scalars,
    so there is no ``[B, N, A, P]`` array and the per-node choice reads rows exactly like mctx):

    children_index: ``[B, N, A]`` int32 child node index (``UNVISITED`` if none).
    children_prior_logits: ``[B, N, A]``.
    children_visits: ``[B, N, A]`` int32.
    children_rewards: ``[B, N, A]`` = ``node_rewards[child, node_to_play[parent]]``.
    children_discounts: ``[B, N, A]``.
    children_values: ``[B, N, A]`` = ``node_values[child, node_to_play[parent]]``.

    embeddings: ``[B, N, ...]``; root_invalid_actions: ``[B, A]``; extra_data: ``[B, ...]``.
    """

    node_visits: chex.Array
    raw_values: chex.Array
    node_values: chex.Array
    node_to_play: chex.Array
    mover_raw_values: chex.Array
    mover_node_values: chex.Array
    node_rewards: chex.Array
    parents: chex.Array
    action_from_parent: chex.Array
    children_index: chex.Array
    children_prior_logits: chex.Array
    children_visits: chex.Array
    children_rewards: chex.Array
    children_discounts: chex.Array
    children_values: chex.Array
    embeddings: Any
    root_invalid_actions: chex.Array
    extra_data: Any

    ROOT_INDEX: ClassVar[int] = 0
    NO_PARENT: ClassVar[int] = -1
    UNVISITED: ClassVar[int] = -1

    @property
    def num_actions(self):
        return self.children_index.shape[-1]

    @property
    def num_simulations(self):
        return self.node_visits.shape[-1] - 1

    @property
    def num_players(self):
        return self.node_values.shape[-1]

    def qvalues(self, indices):
        """Scalar Q-values ``[..., A]`` of node ``indices`` seen by their movers (mctx's ``Tree.qvalues``)."""
        if jnp.asarray(indices).shape:
            return jax.vmap(_unbatched_qvalues)(self, indices)
        return _unbatched_qvalues(self, indices)

    def qvalues_vector(self, indices):
        """Vector Q-values ``[..., A, P]`` (absolute seats) of node ``indices``; zeros for unvisited actions."""
        if jnp.asarray(indices).shape:
            return jax.vmap(_unbatched_qvalues_vector)(self, indices)
        return _unbatched_qvalues_vector(self, indices)

    def summary(self) -> MaxnSearchSummary:
        """Root statistics, as ``mctx.Tree.summary`` but with vector values and Q-values."""
        chex.assert_rank(self.node_values, 3)
        batch = self.node_values.shape[0]
        root = jnp.full((batch,), self.ROOT_INDEX)
        value = self.node_values[:, self.ROOT_INDEX]
        visit_counts = self.children_visits[:, self.ROOT_INDEX].astype(value.dtype)
        total = jnp.sum(visit_counts, axis=-1, keepdims=True)
        visit_probs = visit_counts / jnp.maximum(total, 1)
        visit_probs = jnp.where(total > 0, visit_probs, 1 / self.num_actions)
        return MaxnSearchSummary(
            visit_counts=visit_counts,
            visit_probs=visit_probs,
            value=value,
            qvalues=self.qvalues_vector(root),
            to_play=self.node_to_play[:, self.ROOT_INDEX],
        )


def _unbatched_qvalues(tree: MaxnTree, index):
    return tree.children_rewards[index] + tree.children_discounts[index] * tree.children_values[index]


def _unbatched_qvalues_vector(tree: MaxnTree, index):
    child = tree.children_index[index]
    valid = (child != MaxnTree.UNVISITED)[:, None]
    idx = jnp.maximum(child, 0)
    q = tree.node_rewards[idx] + tree.children_discounts[index][:, None] * tree.node_values[idx]
    return jnp.where(valid, q, 0.0)


def mover_view(tree: MaxnTree) -> mctx.Tree:
    """The ``mctx.Tree`` in which every node is seen by the seat that moves there (no copies, no gathers).

    Its ``raw_values`` / ``node_values`` are each node's own mover's components and its child-edge
    arrays are the parent mover's (as stored), so mctx's qtransforms and action selections,
    called with any ``node_index``, compute exactly what they compute for a 2-player tree, with the
    mover's component of the vector Q-values. Works on batched and unbatched trees.
    """
    return mctx.Tree(
        node_visits=tree.node_visits,
        raw_values=tree.mover_raw_values,
        node_values=tree.mover_node_values,
        parents=tree.parents,
        action_from_parent=tree.action_from_parent,
        children_index=tree.children_index,
        children_prior_logits=tree.children_prior_logits,
        children_visits=tree.children_visits,
        children_rewards=tree.children_rewards,
        children_discounts=tree.children_discounts,
        children_values=tree.children_values,
        embeddings=tree.embeddings,
        root_invalid_actions=tree.root_invalid_actions,
        extra_data=tree.extra_data,
    )


def _batch_update(x, vals, *indices):
    return jax.vmap(lambda x_, v_, *i: x_.at[i].set(v_))(x, vals, *indices)


def _instantiate_tree(root: MaxnRootFnOutput, num_simulations, root_invalid_actions, extra_data) -> MaxnTree:
    batch, num_actions = root.prior_logits.shape
    num_players = root.value.shape[-1]
    n = num_simulations + 1
    dtype = root.value.dtype

    def _zeros(x):
        return jnp.zeros((batch, n) + x.shape[1:], dtype=x.dtype)

    tree = MaxnTree(
        node_visits=jnp.zeros((batch, n), jnp.int32),
        raw_values=jnp.zeros((batch, n, num_players), dtype),
        node_values=jnp.zeros((batch, n, num_players), dtype),
        node_to_play=jnp.zeros((batch, n), jnp.int32),
        mover_raw_values=jnp.zeros((batch, n), dtype),
        mover_node_values=jnp.zeros((batch, n), dtype),
        node_rewards=jnp.zeros((batch, n, num_players), dtype),
        parents=jnp.full((batch, n), MaxnTree.NO_PARENT, jnp.int32),
        action_from_parent=jnp.full((batch, n), MaxnTree.NO_PARENT, jnp.int32),
        children_index=jnp.full((batch, n, num_actions), MaxnTree.UNVISITED, jnp.int32),
        children_prior_logits=jnp.zeros((batch, n, num_actions), root.prior_logits.dtype),
        children_visits=jnp.zeros((batch, n, num_actions), jnp.int32),
        children_rewards=jnp.zeros((batch, n, num_actions), dtype),
        children_discounts=jnp.zeros((batch, n, num_actions), dtype),
        children_values=jnp.zeros((batch, n, num_actions), dtype),
        embeddings=jax.tree.map(_zeros, root.embedding),
        root_invalid_actions=root_invalid_actions,
        extra_data=extra_data,
    )
    root_index = jnp.full((batch,), MaxnTree.ROOT_INDEX, jnp.int32)
    return _update_tree_node(tree, root_index, root.prior_logits, root.value, root.to_play, root.embedding)


def _update_tree_node(tree: MaxnTree, node_index, prior_logits, value, to_play, embedding) -> MaxnTree:
    """Writes a freshly evaluated node (as mctx's ``update_tree_node``: a re-expanded leaf is overwritten)."""
    batch = tree.node_values.shape[0]
    batch_range = jnp.arange(batch)
    new_visit = tree.node_visits[batch_range, node_index] + 1
    to_play = to_play.astype(jnp.int32)
    own = jnp.take_along_axis(value, to_play[:, None], axis=1)[:, 0]
    return tree.replace(
        mover_raw_values=_batch_update(tree.mover_raw_values, own, node_index),
        mover_node_values=_batch_update(tree.mover_node_values, own, node_index),
        children_prior_logits=_batch_update(tree.children_prior_logits, prior_logits, node_index),
        raw_values=_batch_update(tree.raw_values, value, node_index),
        node_values=_batch_update(tree.node_values, value, node_index),
        node_visits=_batch_update(tree.node_visits, new_visit, node_index),
        node_to_play=_batch_update(tree.node_to_play, to_play, node_index),
        embeddings=jax.tree.map(lambda t, s: _batch_update(t, s, node_index), tree.embeddings, embedding),
    )


def _expand(params, rng_key, tree: MaxnTree, recurrent_fn, parent_index, action, next_node_index) -> MaxnTree:
    batch = tree.node_values.shape[0]
    batch_range = jnp.arange(batch)
    chex.assert_shape([parent_index, action, next_node_index], (batch,))
    embedding = jax.tree.map(lambda x: x[batch_range, parent_index], tree.embeddings)
    step, embedding = recurrent_fn(params, rng_key, action, embedding)
    num_players = tree.num_players
    chex.assert_shape(step.prior_logits, (batch, tree.num_actions))
    chex.assert_shape(step.reward, (batch, num_players))
    chex.assert_shape(step.discount, (batch,))
    chex.assert_shape(step.value, (batch, num_players))
    chex.assert_shape(step.to_play, (batch,))
    parent_mover = tree.node_to_play[batch_range, parent_index]
    reward = step.reward.astype(tree.node_rewards.dtype)
    parent_reward = jnp.take_along_axis(reward, parent_mover[:, None], axis=1)[:, 0]
    tree = _update_tree_node(tree, next_node_index, step.prior_logits, step.value, step.to_play, embedding)
    return tree.replace(
        children_index=_batch_update(tree.children_index, next_node_index, parent_index, action),
        children_rewards=_batch_update(tree.children_rewards, parent_reward, parent_index, action),
        children_discounts=_batch_update(
            tree.children_discounts, step.discount.astype(tree.children_discounts.dtype), parent_index, action
        ),
        node_rewards=_batch_update(tree.node_rewards, reward, next_node_index),
        parents=_batch_update(tree.parents, parent_index, next_node_index),
        action_from_parent=_batch_update(tree.action_from_parent, action, next_node_index),
    )


def _backward(tree: MaxnTree, leaf_index) -> MaxnTree:
    """Backs each leaf's value vector up to the root: every node keeps the running mean of its returns.

    The same arithmetic as mctx's ``backward``, written as one loop over the whole batch (rows that
    reached the root write their old values back) instead of ``vmap`` of a per-row while loop, so
    each step scatters a few rows instead of selecting between two copies of the carried arrays.
    """
    batch = tree.node_values.shape[0]
    br = jnp.arange(batch)
    chex.assert_shape(leaf_index, (batch,))
    parents, from_parent = tree.parents, tree.action_from_parent
    node_rewards, discounts, to_play = tree.node_rewards, tree.children_discounts, tree.node_to_play

    def cond_fun(state):
        return jnp.any(state[-1] != MaxnTree.ROOT_INDEX)

    def body_fun(state):
        values, mover_values, visits, child_values, child_visits, leaf_value, index = state
        active = index != MaxnTree.ROOT_INDEX
        parent = jnp.maximum(parents[br, index], 0)
        action = jnp.maximum(from_parent[br, index], 0)
        count = visits[br, parent]
        leaf_value = jnp.where(
            active[:, None], node_rewards[br, index] + discounts[br, parent, action][:, None] * leaf_value, leaf_value
        )
        old_value = values[br, parent]
        parent_value = (old_value * count[:, None] + leaf_value) / (count[:, None] + 1.0)
        parent_value = jnp.where(active[:, None], parent_value, old_value)
        mover = to_play[br, parent]
        child_value = jnp.where(active, values[br, index, mover], child_values[br, parent, action])
        values = values.at[br, parent].set(parent_value)
        mover_values = mover_values.at[br, parent].set(parent_value[br, mover])
        visits = visits.at[br, parent].set(count + active.astype(count.dtype))
        child_values = child_values.at[br, parent, action].set(child_value)
        child_visits = child_visits.at[br, parent, action].add(active.astype(child_visits.dtype))
        index = jnp.where(active, parent, index)
        return values, mover_values, visits, child_values, child_visits, leaf_value, index

    leaf_index = jnp.asarray(leaf_index, jnp.int32)
    state = (
        tree.node_values,
        tree.mover_node_values,
        tree.node_visits,
        tree.children_values,
        tree.children_visits,
        tree.node_values[br, leaf_index],
        leaf_index,
    )
    values, mover_values, visits, child_values, child_visits, _, _ = jax.lax.while_loop(cond_fun, body_fun, state)
    return tree.replace(
        node_values=values,
        mover_node_values=mover_values,
        node_visits=visits,
        children_values=child_values,
        children_visits=child_visits,
    )


def _mask_invalid_actions(logits, invalid_actions):
    """mctx's root masking: logits minus their max, invalid actions at the dtype's min."""
    if invalid_actions is None:
        return logits
    chex.assert_equal_shape([logits, invalid_actions])
    logits = logits - jnp.max(logits, axis=-1, keepdims=True)
    return jnp.where(invalid_actions, jnp.finfo(logits.dtype).min, logits)


def maxn_search(
    params,
    rng_key,
    *,
    root: MaxnRootFnOutput,
    recurrent_fn,
    root_action_selection_fn,
    interior_action_selection_fn,
    num_simulations: int,
    max_depth: Optional[int] = None,
    invalid_actions=None,
    extra_data=None,
    loop_fn=jax.lax.fori_loop,
) -> MaxnTree:
    """mctx's ``search`` over a `MaxnTree`; the selection fns see the movers' scalar `mover_view`.

    ``root_action_selection_fn(key, view, node_index)`` and ``interior_action_selection_fn(key,
    view, node_index, depth)`` are mctx selection functions. RNG use is mctx's, key for key.
    ``root``: ``prior_logits [B, A]``, ``value [B, P]``, ``to_play [B]``; the tree has
    ``N = num_simulations + 1`` nodes per row.
    """
    switching = _mctx_selection.switching_action_selection_wrapper(
        root_action_selection_fn=root_action_selection_fn,
        interior_action_selection_fn=interior_action_selection_fn,
    )

    def action_selection_fn(key, tree, node_index, depth):
        return switching(key, mover_view(tree), node_index, depth)

    batch = root.value.shape[0]
    chex.assert_shape([root.prior_logits, root.to_play], [(batch, None), (batch,)])
    batch_range = jnp.arange(batch)
    if max_depth is None:
        max_depth = num_simulations
    if invalid_actions is None:
        invalid_actions = jnp.zeros_like(root.prior_logits)

    def body_fun(sim, loop_state):
        rng_key, tree = loop_state
        rng_key, simulate_key, expand_key = jax.random.split(rng_key, 3)
        simulate_keys = jax.random.split(simulate_key, batch)
        parent_index, action = _mctx_search.simulate(simulate_keys, tree, action_selection_fn, max_depth)
        next_node_index = tree.children_index[batch_range, parent_index, action]
        next_node_index = jnp.where(next_node_index == MaxnTree.UNVISITED, sim + 1, next_node_index)
        tree = _expand(params, expand_key, tree, recurrent_fn, parent_index, action, next_node_index)
        tree = _backward(tree, next_node_index)
        return rng_key, tree

    tree = _instantiate_tree(root, num_simulations, invalid_actions, extra_data)
    _, tree = loop_fn(0, num_simulations, body_fun, (rng_key, tree))
    return tree


def maxn_gumbel_muzero_policy(
    params,
    rng_key,
    root: MaxnRootFnOutput,
    recurrent_fn,
    num_simulations: int,
    invalid_actions=None,
    max_depth: Optional[int] = None,
    loop_fn=jax.lax.fori_loop,
    *,
    qtransform=mctx.qtransform_completed_by_mix_value,
    max_num_considered_actions: int = 16,
    gumbel_scale=1.0,
) -> mctx.PolicyOutput:
    """Gumbel MuZero with vector (max^n) values; the call shape of ``mctx.gumbel_muzero_policy``.

    ``root`` is a `MaxnRootFnOutput`; ``recurrent_fn(params, key, action [B], embedding) ->
    (MaxnRecurrentFnOutput, embedding)``. ``invalid_actions`` ``[B, A]`` (True/1 = invalid) masks
    the root; below it, illegal actions must get low logits from the model. ``qtransform`` is an
    mctx qtransform; it is applied to the mover's scalar view of a node, so the root's completed
    Q-values are those of the root's mover. Returns ``mctx.PolicyOutput(action [B],
    action_weights [B, A], search_tree: MaxnTree)``; ``action_weights = softmax(masked(logits +
    completed_q))`` is the policy target. ``num_simulations``, ``max_depth`` and
    ``max_num_considered_actions`` must be static.
    """
    chex.assert_rank([root.prior_logits, root.value, root.to_play], [2, 2, 1])
    batch = root.prior_logits.shape[0]
    chex.assert_shape(root.value, (batch, None))
    chex.assert_shape(root.to_play, (batch,))
    root = root.replace(prior_logits=_mask_invalid_actions(root.prior_logits, invalid_actions))

    rng_key, gumbel_rng = jax.random.split(rng_key)
    gumbel = gumbel_scale * jax.random.gumbel(gumbel_rng, shape=root.prior_logits.shape, dtype=root.prior_logits.dtype)

    extra_data = _mctx_selection.GumbelMuZeroExtraData(root_gumbel=gumbel)
    search_tree = maxn_search(
        params,
        rng_key,
        root=root,
        recurrent_fn=recurrent_fn,
        root_action_selection_fn=functools.partial(
            _mctx_selection.gumbel_muzero_root_action_selection,
            num_simulations=num_simulations,
            max_num_considered_actions=max_num_considered_actions,
            qtransform=qtransform,
        ),
        interior_action_selection_fn=functools.partial(
            _mctx_selection.gumbel_muzero_interior_action_selection,
            qtransform=qtransform,
        ),
        num_simulations=num_simulations,
        max_depth=max_depth,
        invalid_actions=invalid_actions,
        extra_data=extra_data,
        loop_fn=loop_fn,
    )

    view = mover_view(search_tree)
    visit_counts = search_tree.children_visits[:, MaxnTree.ROOT_INDEX].astype(root.prior_logits.dtype)
    considered_visit = jnp.max(visit_counts, axis=-1, keepdims=True)
    completed_qvalues = jax.vmap(qtransform, in_axes=[0, None])(view, MaxnTree.ROOT_INDEX)
    to_argmax = _seq_halving.score_considered(
        considered_visit, gumbel, root.prior_logits, completed_qvalues, visit_counts
    )
    action = _mctx_selection.masked_argmax(to_argmax, invalid_actions)
    completed_search_logits = _mask_invalid_actions(root.prior_logits + completed_qvalues, invalid_actions)
    action_weights = jax.nn.softmax(completed_search_logits)
    return mctx.PolicyOutput(action=action, action_weights=action_weights, search_tree=search_tree)


def run_maxn_search(
    game, apply_fn, budget: SearchBudget, params, states, key, *, max_depth: Optional[int] = None
) -> SearchOutput:
    """Max^n Gumbel search (`make_maxn_model`) from a batch of game states of a game of 2-4 players.

    ``apply_fn(params, obs[B, *obs_shape]) -> (logits[B, A], values[B, P])`` with values
    mover-relative. Returns ``SearchOutput(action [B], action_weights [B, A], search_tree:
    MaxnTree, legal_overflow [B])`` (compact as `jaxzero.search.gumbel.run_mctx_search`: then the
    tree's action axis is the slot axis); the root value of every seat is ``search_tree.summary().value`` ``[B, P]``
    (absolute seats). Jit-compatible; ``budget`` and ``max_depth`` are static.
    """
    model = make_maxn_model(game, apply_fn)
    slots = search_slots(game, budget)
    return run_policy(
        maxn_gumbel_muzero_policy, model, budget, params, states, key, num_slots=slots, max_depth=max_depth
    )
