"""Game outcomes: rank outcomes of final seat returns, rotation of seat values to the mover."""

import jax.numpy as jnp
import numpy as np
import pytest

from jaxzero.games.outcomes import rank_outcome, rotate_to_mover


@pytest.mark.parametrize(
    "returns,expected",
    [
        ([1.0, -1.0], [1.0, -1.0]),
        ([0.0, 0.0], [0.0, 0.0]),
        ([-1.0, 1.0], [-1.0, 1.0]),
        ([1.0, 0.0, -1.0], [1.0, 0.0, -1.0]),
        ([5.0, 5.0, 0.0], [0.5, 0.5, -1.0]),  # shared first place: ranks 1 and 2 averaged
        ([0.0, 0.0, 0.0], [0.0, 0.0, 0.0]),
        ([3.0, 1.0, 1.0, 0.0], [1.0, 0.0, 0.0, -1.0]),
        ([2.0, 7.0, 4.0, 9.0], [-1.0, 1 / 3, -1 / 3, 1.0]),
    ],
)
def test_rank_outcome(returns, expected):
    np.testing.assert_allclose(rank_outcome(jnp.array(returns)), expected, atol=1e-6)


def test_rotate_to_mover():
    v = jnp.array([[10.0, 20.0, 30.0]] * 3)
    np.testing.assert_allclose(
        rotate_to_mover(v, jnp.array([0, 1, 2])), [[10, 20, 30], [20, 30, 10], [30, 10, 20]]
    )


def test_rotate_to_mover_checks_the_mover_shape():
    with pytest.raises(AssertionError):
        rotate_to_mover(jnp.zeros((3, 4)), jnp.array([0, 1]))
