"""nth_true / uniform_legal: exact k-th legal id, uniform over legal ids."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxzero.games.masks import nth_true, uniform_legal


def test_nth_true_matches_numpy_on_random_masks():
    rng = np.random.default_rng(0)
    for a, density in [(4681, 0.01), (130, 0.5), (64, 0.05), (7, 0.9)]:
        mask = rng.random((97, a)) < density
        mask[0] = False  # an all-False row
        mask[1] = False
        mask[1, a - 1] = True  # only the last id
        cnt = mask.sum(-1)
        k = (rng.random(97) * np.maximum(cnt, 1)).astype(np.int32)
        got = np.asarray(jax.jit(nth_true)(jnp.asarray(mask), jnp.asarray(k)))
        for b in range(97):
            want = np.flatnonzero(mask[b])[k[b]] if cnt[b] else 0
            assert got[b] == want, (a, b)
        # k beyond the count clamps to the last legal id
        big = np.asarray(nth_true(jnp.asarray(mask), jnp.full((97,), 10**6, jnp.int32)))
        for b in range(2, 97):
            if cnt[b]:
                assert big[b] == np.flatnonzero(mask[b])[-1]


def test_uniform_legal_is_legal_and_uniform():
    mask = np.zeros((1, 300), bool)
    legal = [3, 64, 65, 128, 299]
    mask[0, legal] = True
    keys = jax.random.split(jax.random.PRNGKey(1), 4000)
    picks = np.asarray(jax.jit(jax.vmap(lambda k: uniform_legal(k, jnp.asarray(mask))[0]))(keys))
    assert set(picks.tolist()) == set(legal)
    freq = np.bincount(picks, minlength=300)[legal] / len(picks)
    # 4000 draws: each frequency within 4.5 standard errors of 1/5
    assert np.all(np.abs(freq - 0.2) < 4.5 * np.sqrt(0.2 * 0.8 / 4000))
