"""Search over the real game: mctx Gumbel MuZero (2 players), max^n and paranoid (2-4 players).

One public face, laid out as mctx's own: shared pieces in `common`, the algorithms in `gumbel`,
`maxn` and `paranoid` (over the vector model of `vector_model`), and the one dispatch on a search
kind in `kinds`. Imports no RingRift code.
"""

from jaxzero.search.common import (
    ILLEGAL_LOGIT,
    SearchBudget,
    SearchOutput,
    mask_logits,
    max_legal_actions,
    with_value_prior,
)
from jaxzero.search.gumbel import run_mctx_search
from jaxzero.search.kinds import SEARCH_KINDS, make_search, resolve_kind
from jaxzero.search.maxn import run_maxn_search
from jaxzero.search.paranoid import run_paranoid_search

__all__ = [
    "ILLEGAL_LOGIT",
    "SEARCH_KINDS",
    "SearchBudget",
    "SearchOutput",
    "make_search",
    "mask_logits",
    "max_legal_actions",
    "resolve_kind",
    "run_maxn_search",
    "run_mctx_search",
    "run_paranoid_search",
    "with_value_prior",
]
