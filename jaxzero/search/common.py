"""What every search here shares: masks, the end-of-game test, the search budget, the game-as-model
evaluation, the compact legal list and the run harness.

All three searches (`jaxzero.search.gumbel`, `jaxzero.search.maxn`, `jaxzero.search.paranoid`) use
the game itself as the model: the tree's embedding is a batch of game states, a transition steps
them, and the network ``apply_fn(params, obs [B, ...]) -> (logits [B, A], values [B, P])`` (values
mover-relative: index 0 = seat to move) evaluates the new states. Their policies share mctx's call
shape, so `run_policy` runs any of them from a batch of states. Knows nothing of any particular game.

Compact search (`compact_model`, on by default: ``SearchBudget.compact``): mctx's tree arrays are
``[B, N+1, A]`` and every simulation selects and backs up over all ``A`` ids (4,681 for RingRift
square8), while a position has at most ``K = max_legal_actions(game)`` legal moves (256 there).
The compact model packs each state's legal ids into ``K`` slots (`jaxzero.games.masks.legal_slots`)
and the search runs over slots: priors are the network's logits gathered at the ids, the
embedding carries the state with its id list (`CompactEmbedding`), every child is packed again
inside ``recurrent_fn`` and its padding slots get `ILLEGAL_LOGIT`. `run_policy` maps the chosen
slot and the improved policy back to ids, so ``action [B]`` and ``action_weights [B, A]`` keep
their meaning; a state with more than ``K`` legal moves is searched over its first ``K`` and
counted in ``SearchOutput.legal_overflow``.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Optional

import chex
import jax
import jax.numpy as jnp
import mctx

from jaxzero.games.masks import legal_slots

# Logit of illegal actions: large and negative but finite (softmax stays NaN-free).
ILLEGAL_LOGIT = -1e9


def mask_logits(logits, legal_action_mask):
    """Logits ``[..., A]`` with illegal actions (``legal_action_mask [..., A]`` False) set to `ILLEGAL_LOGIT`."""
    chex.assert_equal_shape([logits, legal_action_mask])
    return jnp.where(legal_action_mask, logits, ILLEGAL_LOGIT)


def is_done(state):
    """bool ``[...]``: the game of each state has ended (terminated or truncated)."""
    return state.terminated | state.truncated


@dataclasses.dataclass(frozen=True)
class SearchBudget:
    """How much one search may do: simulations per move, actions considered at the root (Gumbel
    top-k), the scale of the root's Gumbel noise (0 = deterministic, for arena play), and whether
    to search over the compact legal list (`search_slots`; the result is the same search, the
    Gumbel noise lands on other ids). ``value_scale`` scales the completed Q-values added to the
    prior logits (mctx's ``qtransform_completed_by_mix_value``; 0.1 is mctx's default): the improved
    policy is ``softmax(logits + (50 + max visits) * value_scale * q)`` with ``q`` rescaled to
    [0, 1], so a smaller scale keeps the target closer to the prior when Q is noisy.
    ``rescale_values = False`` skips that min-max rescaling: the shift is then proportional to the
    real Q differences (in [-1, 1]) instead of stretching the spread of the visited actions, however
    small, to the full [0, 1]."""

    num_simulations: int
    max_num_considered_actions: int
    gumbel_scale: float = 1.0
    compact: bool = True
    value_scale: float = 0.1
    rescale_values: bool = True

    def __post_init__(self):
        if self.num_simulations < 1:
            raise ValueError(f"SearchBudget.num_simulations must be >= 1, got {self.num_simulations}")
        if self.max_num_considered_actions < 1:
            raise ValueError(
                f"SearchBudget.max_num_considered_actions must be >= 1, got {self.max_num_considered_actions}"
            )
        if self.gumbel_scale < 0:
            raise ValueError(f"SearchBudget.gumbel_scale must be >= 0, got {self.gumbel_scale}")
        if self.value_scale <= 0:
            raise ValueError(f"SearchBudget.value_scale must be > 0, got {self.value_scale}")


def evaluate(game, apply_fn, params, states):
    """The network on a batch of game states: ``(logits [B, A] masked by the legal actions, values [B, P])``."""
    logits, values = apply_fn(params, jax.vmap(game.observe)(states))
    chex.assert_shape(logits, states.legal_action_mask.shape)
    return mask_logits(logits, states.legal_action_mask), values


def step_and_evaluate(game, apply_fn, params, key, action, states):
    """One move in every game (``action [B]``, one key each split from ``key``), then `evaluate` at the
    new states: ``(next_states, logits [B, A], values [B, P])``."""
    chex.assert_rank(action, 1)
    batch = action.shape[0]
    next_states = jax.vmap(game.step)(states, action, jax.random.split(key, batch))
    logits, values = evaluate(game, apply_fn, params, next_states)
    return next_states, logits, values


class _PriorObservation:
    """A game seen through `with_value_prior`: ``observe(state)`` is ``(obs, prior_values [P])``;
    everything else is the game's."""

    def __init__(self, game, prior_fn):
        self._game, self._prior_fn = game, prior_fn

    def __getattr__(self, name):
        return getattr(self._game, name)

    def observe(self, state):
        return self._game.observe(state), self._prior_fn(state)


def with_value_prior(game, apply_fn, prior_fn):
    """``(game', apply_fn')`` for a search whose leaf values mix the network's with a prior:
    ``values = (1 - w) * net_values + w * prior_fn(state)``.

    ``prior_fn(state) -> float32 [P]`` gives mover-relative values in [-1, 1] for one state (a
    hand-written evaluation, e.g. RingRift's heuristic); ``apply_fn'`` takes ``params = (net_params,
    w)`` with ``w`` a float32 scalar (traced: a schedule over iterations does not recompile); the
    priors (logits) stay the network's. Any search kind runs on the pair unchanged."""

    def mixed_apply(params, obs):
        net_params, weight = params
        net_obs, prior = obs
        logits, values = apply_fn(net_params, net_obs)
        chex.assert_equal_shape([values, prior])
        return logits, (1.0 - weight) * values + weight * prior.astype(values.dtype)

    return _PriorObservation(game, prior_fn), mixed_apply


def max_legal_actions(game) -> int:
    """K: the most legal actions any state of ``game`` has (its optional static ``max_legal_actions``
    attribute; ``num_actions`` when it declares none)."""
    return int(getattr(game, "max_legal_actions", game.num_actions))


def search_slots(game, budget: SearchBudget) -> Optional[int]:
    """The number of slots a search over ``game`` runs on: ``max_legal_actions(game)`` when
    ``budget.compact`` and that is below ``game.num_actions``; None (all action ids) otherwise."""
    k = max_legal_actions(game)
    return k if budget.compact and k < game.num_actions else None


@chex.dataclass(frozen=True)
class SearchOutput(mctx.PolicyOutput):
    """mctx's ``PolicyOutput`` (``action [B]`` id, ``action_weights [B, A]`` over ids, ``search_tree``)
    plus ``legal_overflow`` int32 ``[B]``: how many searched nodes had more legal moves than the
    compact search's slots (their moves past the first K were not searched; always 0 over all ids),
    and ``search_value`` float32 ``[B]``: the position's value after the search, seen by its mover
    (`chosen_value`; a Q+z value target mixes it with the game's outcome). In a compact search the
    tree's action axis is the slot axis."""

    legal_overflow: chex.Array
    search_value: chex.Array


def chosen_value(tree, action) -> jax.Array:
    """float32 ``[B]``: the Q-value of the chosen root action ``action [B]`` (an index on the tree's action
    axis), seen by the root's mover: the mean return backed up through that child (for max^n the mover's
    component, for paranoid the root seat's utility).

    Not the root's own mean value: Gumbel sequential halving spreads the root's visits over all the
    considered actions on purpose, so that mean mixes in moves the search rejected (a won tic-tac-toe
    position searched 64 times has a root mean near 0 and a chosen Q of +1). The chosen action always
    has the most visits (at least one)."""
    chex.assert_rank(action, 1)
    q = tree.qvalues(jnp.zeros_like(action))  # [B, actions] at the roots, seen by their movers
    chex.assert_rank(q, 2)
    return jnp.take_along_axis(q, action[:, None], axis=1)[:, 0].astype(jnp.float32)


@chex.dataclass(frozen=True)
class CompactEmbedding:
    """A node of the compact search: the model's embedding (a batch of game states) and its legal
    ids packed into K slots: ``ids`` int32 ``[B, K]``, ``valid`` bool ``[B, K]``, ``count`` int32
    ``[B]`` (the full number of legal moves; ``count > K`` is an overflow)."""

    inner: Any
    ids: chex.Array
    valid: chex.Array
    count: chex.Array


def pack_states(states, num_slots: int) -> CompactEmbedding:
    """The `CompactEmbedding` of a batch of game states (``legal_action_mask [B, A]``)."""
    ids, valid, count = legal_slots(states.legal_action_mask, num_slots)
    return CompactEmbedding(inner=states, ids=ids, valid=valid, count=count)


def gather_slots(x, emb: CompactEmbedding, fill=ILLEGAL_LOGIT):
    """``x [B, A]`` (logits over ids) read at the slots' ids: ``[B, K]``, ``fill`` in the padding slots."""
    chex.assert_rank(x, 2)
    return jnp.where(emb.valid, jnp.take_along_axis(x, emb.ids, axis=1), fill)


def scatter_slots(x, emb: CompactEmbedding, num_actions: int):
    """``x [B, K]`` over slots written back to ids: ``[B, A]``, 0 at ids in no valid slot."""
    chex.assert_equal_shape([x, emb.ids])
    batch = x.shape[0]
    out = jnp.zeros((batch, num_actions), x.dtype)
    return out.at[jnp.arange(batch)[:, None], emb.ids].add(jnp.where(emb.valid, x, 0))


def compact_model(model, num_slots: int):
    """The ``(root_fn, recurrent_fn)`` of ``model`` over ``num_slots`` slots instead of action ids.

    ``model``'s embedding must be the batch of game states (as in every model here); its outputs'
    ``prior_logits [B, A]`` become ``[B, K]`` (gathered at the packed legal ids, padding slots
    `ILLEGAL_LOGIT`, at the root and at every child), its embedding a `CompactEmbedding`, and
    ``recurrent_fn`` takes a slot ``[B]`` and steps its id. Anything else passes unchanged.
    """
    root_fn, recurrent_fn = model

    def compact_root_fn(params, states):
        root = root_fn(params, states)
        emb = pack_states(root.embedding, num_slots)
        return root.replace(prior_logits=gather_slots(root.prior_logits, emb), embedding=emb)

    def compact_recurrent_fn(params, key, slot, emb: CompactEmbedding):
        chex.assert_shape(slot, emb.count.shape)
        action = jnp.take_along_axis(emb.ids, slot[:, None], axis=1)[:, 0]
        out, states = recurrent_fn(params, key, action, emb.inner)
        child = pack_states(states, num_slots)
        return out.replace(prior_logits=gather_slots(out.prior_logits, child)), child

    return compact_root_fn, compact_recurrent_fn


def _compact_embeddings(embeddings) -> CompactEmbedding:
    """The `CompactEmbedding` inside a tree's embeddings (a policy may wrap it, as paranoid does)."""
    found = [
        x
        for x in jax.tree_util.tree_leaves(embeddings, is_leaf=lambda x: isinstance(x, CompactEmbedding))
        if isinstance(x, CompactEmbedding)
    ]
    if len(found) != 1:
        raise ValueError(f"expected one CompactEmbedding in the search tree's embeddings, found {len(found)}")
    return found[0]


def run_policy(
    policy, model, budget: SearchBudget, params, states, key, *, num_slots: Optional[int] = None, **options
) -> SearchOutput:
    """``policy`` (a Gumbel MuZero policy with the call shape of ``mctx.gumbel_muzero_policy``) from a
    batch of game states.

    ``model = (root_fn, recurrent_fn)``: ``root_fn(params, states)`` gives the policy's root,
    ``recurrent_fn`` its transitions. The root's illegal actions (``states.legal_action_mask [B, A]``)
    are the invalid ones; ``options`` go to the policy (e.g. ``max_depth``). ``num_slots`` (static):
    None searches over all ``A`` action ids, an int K over the compact legal list (`compact_model`;
    `search_slots` gives the default). Returns a `SearchOutput`: ``action [B]`` (an id),
    ``action_weights [B, A]`` (the improved policy over ids, 0 on illegal ids), the policy's tree
    ``legal_overflow [B]`` and ``search_value [B]`` (`chosen_value`).
    """
    chex.assert_rank(states.legal_action_mask, 2)
    batch, num_actions = states.legal_action_mask.shape
    if num_slots is not None:
        model = compact_model(model, num_slots)
    root_fn, recurrent_fn = model
    root = root_fn(params, states)
    width = num_actions if num_slots is None else num_slots
    chex.assert_shape(root.prior_logits, (batch, width))
    invalid = ~states.legal_action_mask if num_slots is None else ~root.embedding.valid
    out = policy(
        params,
        key,
        root,
        recurrent_fn,
        budget.num_simulations,
        invalid_actions=invalid,
        max_num_considered_actions=budget.max_num_considered_actions,
        gumbel_scale=budget.gumbel_scale,
        qtransform=functools.partial(mctx.qtransform_completed_by_mix_value, value_scale=budget.value_scale,
                                     rescale_values=budget.rescale_values),
        **options,
    )
    chex.assert_shape(out.action, (batch,))
    chex.assert_shape(out.action_weights, (batch, width))
    if num_slots is None:
        action, weights = out.action, out.action_weights
        overflow = jnp.zeros((batch,), jnp.int32)
    else:
        emb = root.embedding
        action = jnp.take_along_axis(emb.ids, out.action[:, None], axis=1)[:, 0]
        weights = scatter_slots(out.action_weights, emb, num_actions)
        nodes = _compact_embeddings(out.search_tree.embeddings)
        searched = out.search_tree.node_visits > 0
        overflow = jnp.sum((nodes.count > num_slots) & searched, axis=1, dtype=jnp.int32)
    chex.assert_shape(weights, (batch, num_actions))
    value = chosen_value(out.search_tree, out.action)  # out.action: the tree's index (a slot when compact)
    return SearchOutput(action=action, action_weights=weights, search_tree=out.search_tree, legal_overflow=overflow,
                        search_value=value)
