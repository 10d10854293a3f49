"""Which search: the one place where a search kind (a config string) becomes a search function.

``"mctx"`` (`jaxzero.search.gumbel`, 2 players only), ``"maxn"`` (`jaxzero.search.maxn`),
``"paranoid"`` (`jaxzero.search.paranoid`) or ``"auto"`` (mctx for 2 players, max^n otherwise).
Every kind returns a `jaxzero.search.common.SearchOutput`: ``action`` ``[B]``, the policy target
``action_weights`` ``[B, A]`` and ``legal_overflow`` ``[B]``; only ``search_tree`` differs. Each
searches the compact legal list when ``budget.compact`` (the default) and the game declares
``max_legal_actions`` below ``num_actions``.
"""

from __future__ import annotations

import functools
import inspect

from jaxzero.search.common import SearchBudget
from jaxzero.search.gumbel import run_mctx_search
from jaxzero.search.maxn import run_maxn_search
from jaxzero.search.paranoid import run_paranoid_search

SEARCH_KINDS = ("auto", "mctx", "maxn", "paranoid")

_RUN = {"mctx": run_mctx_search, "maxn": run_maxn_search, "paranoid": run_paranoid_search}


def resolve_kind(kind: str, num_players: int) -> str:
    """The concrete search kind (``"mctx"``, ``"maxn"`` or ``"paranoid"``) that ``kind`` names for a
    game of ``num_players``: ``"auto"`` is mctx for 2 players, max^n otherwise."""
    if kind not in SEARCH_KINDS:
        raise ValueError(f"unknown search kind {kind!r}; known: {', '.join(SEARCH_KINDS)}")
    if kind == "auto":
        return "mctx" if num_players == 2 else "maxn"
    if kind == "mctx" and num_players != 2:
        raise ValueError(f"search kind 'mctx' needs 2 players, the game has {num_players}; use 'maxn' or 'paranoid'")
    return kind


def make_search(kind: str, game, apply_fn, budget: SearchBudget, **options):
    """``search(params, states, key) -> SearchOutput`` of the named search kind over ``game``.

    ``apply_fn(params, obs [B, ...]) -> (logits [B, A], values [B, P])`` with mover-relative values;
    ``budget`` is the `SearchBudget`; ``options`` are the kind's keyword options (``max_depth`` for
    every kind, ``reduce`` for paranoid). The search is jit-compatible: ``states`` a batch of ``B``
    game states, ``key`` one PRNG key; ``action [B]``, ``action_weights [B, A]``.
    """
    if not isinstance(budget, SearchBudget):
        raise TypeError(f"budget must be a SearchBudget, got {type(budget).__name__}")
    kind = resolve_kind(kind, game.num_players)
    run = _RUN[kind]
    known = [p.name for p in inspect.signature(run).parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    unexpected = sorted(set(options) - set(known))
    if unexpected:
        raise ValueError(f"unexpected options {unexpected} for search kind {kind!r} (it takes {known})")
    return functools.partial(run, game, apply_fn, budget, **options)
