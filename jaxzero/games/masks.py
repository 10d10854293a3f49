"""Picking entries of boolean action masks without a long cumulative sum: one chosen entry
(`nth_true`, `uniform_legal`) or all of them packed into a short list (`legal_slots`).

XLA lowers `cumsum` on CPU to an associative scan, which over a RingRift square8 action space
(4,681 ids) costs ~10x the reductions below: `nth_true` finds the k-th True entry in two
levels (per-block counts, a short cumsum over the blocks, then a cumsum inside one block).
Exact: `uniform_legal` returns the same id as the plain "k-th legal id by cumsum" rule.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp

_BLOCK = 64


def nth_true(mask, k, block: int = _BLOCK):
    """int32 [B]: the index of the k[b]-th (0-based) True entry of row b of `mask` [B, A]
    (the last True entry if k >= the row's count; 0 for an all-False row)."""
    chex.assert_rank(mask, 2)
    chex.assert_shape(k, (mask.shape[0],))
    b, a = mask.shape
    m = jnp.pad(mask, ((0, 0), (0, (-a) % block))).reshape(b, -1, block)
    cnt_blk = jnp.sum(m, axis=-1, dtype=jnp.int32)  # [B, nb]
    k = jnp.clip(k, 0, jnp.maximum(jnp.sum(cnt_blk, axis=-1) - 1, 0))
    cum = jnp.cumsum(cnt_blk, axis=-1)
    blk = jnp.argmax(cum > k[:, None], axis=-1)
    before = jnp.take_along_axis(cum - cnt_blk, blk[:, None], axis=-1)[:, 0]
    row = jnp.take_along_axis(m, blk[:, None, None], axis=1)[:, 0]  # [B, block]
    j = jnp.argmax(jnp.cumsum(row.astype(jnp.int32), axis=-1) > (k - before)[:, None], axis=-1)
    return (blk * block + j).astype(jnp.int32)


def uniform_legal(key, mask):
    """int32 [...]: one uniformly random True entry per row of `mask` [..., A] (0 for an
    all-False row); one uniform draw per row instead of one per action. The uniform random
    player of every match, opening and benchmark."""
    lead = mask.shape[:-1]
    flat = mask.reshape((-1, mask.shape[-1]))
    cnt = jnp.sum(flat, axis=-1, dtype=jnp.int32)
    u = jax.random.uniform(key, cnt.shape)
    return nth_true(flat, (u * cnt).astype(jnp.int32)).reshape(lead)


def _select_bit(words, r):
    """int32: the position (0..31) of the r-th (0-based) set bit of each uint32 word (r < its popcount)."""
    pos = jnp.zeros(r.shape, jnp.int32)
    for width in (16, 8, 4, 2, 1):
        low = jax.lax.population_count((words >> pos.astype(jnp.uint32)) & jnp.uint32((1 << width) - 1))
        high = r >= low.astype(jnp.int32)
        pos = pos + jnp.where(high, width, 0)
        r = r - jnp.where(high, low.astype(jnp.int32), 0)
    return pos


def legal_slots(mask, num_slots: int):
    """The True entries of each row of ``mask [B, A]`` packed into ``num_slots`` (K) slots, in
    increasing index order: ``(ids int32 [B, K], valid bool [B, K], count int32 [B])``.

    ``ids[b, :count[b]]`` are row b's True indices (0 in the invalid slots past them); ``count`` is
    the row's full number of True entries, so ``count > K`` says that the row did not fit (its
    first K entries are kept). Cost ~ one reduction over the mask, no long cumsum and no scatter:
    the mask is packed into 32-bit words (one popcount each), a short cumsum over the words
    (A / 32) and a binary search find the word of every slot, and five popcounts the bit inside it.
    """
    chex.assert_rank(mask, 2)
    b, a = mask.shape
    bits = jnp.pad(mask, ((0, 0), (0, (-a) % 32))).reshape(b, -1, 32).astype(jnp.uint32)
    words = jnp.sum(bits << jnp.arange(32, dtype=jnp.uint32), axis=-1, dtype=jnp.uint32)  # [B, W]
    per_word = jax.lax.population_count(words).astype(jnp.int32)
    upto = jnp.cumsum(per_word, axis=-1)  # inclusive counts, W = ceil(A / 32) long
    slot = jnp.arange(num_slots, dtype=jnp.int32)
    word = jax.vmap(lambda c: jnp.searchsorted(c, slot, side="right"))(upto).astype(jnp.int32)
    count = upto[:, -1]
    valid = slot[None, :] < count[:, None]
    word = jnp.minimum(word, words.shape[1] - 1)
    rank = slot[None, :] - (jnp.take_along_axis(upto, word, axis=1) - jnp.take_along_axis(per_word, word, axis=1))
    bit = _select_bit(jnp.take_along_axis(words, word, axis=1), rank)
    ids = jnp.where(valid, word * 32 + bit, 0).astype(jnp.int32)
    chex.assert_shape([ids, valid], (b, num_slots))
    return ids, valid, count
