"""Search: Gumbel MuZero (mctx) over the real game. Imports no RingRift code."""

from jaxzero.search.gumbel import ILLEGAL_LOGIT, make_recurrent_fn, make_search_fn, mask_logits, run_search

__all__ = ["ILLEGAL_LOGIT", "make_recurrent_fn", "make_search_fn", "mask_logits", "run_search"]
