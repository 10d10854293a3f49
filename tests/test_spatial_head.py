"""The spatial policy head reads each action's logit from its own (cell, channel) output."""

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxzero.games.ringrift import actions as act
from jaxzero.games.ringrift.boards import get_board
from jaxzero.games.ringrift.observe import policy_gather_table
from jaxzero.nn.spatial import SpatialPolicyHead


@pytest.mark.parametrize("board", ["square8", "hex8"])
def test_each_action_reads_its_own_cell_channel(board):
    b = get_board(board)
    lay = act.layout_for(b)
    index, cc, ng = policy_gather_table(board)
    rows, cols = b.grid_shape
    head = SpatialPolicyHead(4, (rows, cols), lay.num_actions, gather_index=index, cell_channels=cc,
                             num_global=ng, rngs=nnx.Rngs(0))
    x = jnp.asarray(np.random.default_rng(0).normal(size=(2, rows, cols, 4)), jnp.float32)
    base = np.asarray(head(x))
    assert base.shape == (2, lay.num_actions)
    # bump the bias of one per-cell channel: exactly the actions using that channel move, at every cell
    a = lay.ray(3, 2, 4)
    ch = int(index[a]) % cc
    head.cell_out.bias[...] = head.cell_out.bias[...].at[ch].add(1.0)
    moved = np.flatnonzero(np.abs(np.asarray(head(x)) - base).max(axis=0) > 1e-6)
    expected = [i for i in range(lay.num_actions) if index[i] < rows * cols * cc and index[i] % cc == ch]
    assert moved.tolist() == expected
    assert len(expected) == b.num_cells and a in expected


def test_bad_table_is_refused():
    with pytest.raises(ValueError, match="gather_index"):
        SpatialPolicyHead(4, (3, 3), 5, gather_index=np.arange(4), cell_channels=1, num_global=1, rngs=nnx.Rngs(0))
