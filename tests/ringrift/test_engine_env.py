"""RingRiftEnv: protocol fields, the checked wrapper, the pie-rule agent mapping, rewards."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxzero.games.ringrift import actions
from jaxzero.games.ringrift.env import RingRiftEnv
from jaxzero.games.ringrift.rules import turn
from jaxzero.games.ringrift.state import GAME_OVER, MOVE, PLACE, RulesConfig


@pytest.fixture(scope="module")
def env():
    e = RingRiftEnv(RulesConfig(board="square8", num_players=2))
    e.jinit = jax.jit(e.init)
    e.jstep = jax.jit(e.step)
    return e


def test_init_offers_every_placement(env):
    s = env.jinit(jax.random.PRNGKey(0))
    m = np.asarray(s.legal_action_mask)
    assert m.shape == (env.num_actions,) == (4681,)
    # 64 empty cells x counts 1..3, nothing else (no skip: no stack yet; no swap for seat 1)
    assert m.sum() == 192 and m[:192].all()
    assert int(s.current_player) == 0 and int(s.phase) == PLACE
    assert env.observe(s).shape == env.observation_shape


def test_checked_step_rejects_illegal_ids(env):
    s = env.jinit(jax.random.PRNGKey(0))
    lay = env.layout
    skip = lay.special(actions.SKIP_CAPTURE)
    with pytest.raises(ValueError, match=f"illegal action {skip} .* in phase ring_placement for seat 1"):
        env.step_checked(s, skip)
    with pytest.raises(ValueError, match="out of range"):
        env.step_checked(s, env.num_actions)
    with pytest.raises(ValueError, match="integer"):
        env.step_checked(s, "place")
    s2 = env.step_checked(s, lay.place(0, 1))
    assert int(s2.phase) == MOVE and int(s2.must_move) == 0
    with pytest.raises(ValueError, match=f"illegal action {lay.place(5, 1)} .* in phase movement"):
        env.step_checked(s2, lay.place(5, 1))  # the placed stack must move first


def test_swap_changes_the_agent_not_the_board(env):
    lay = env.layout
    s = env.jinit(jax.random.PRNGKey(0))
    s = env.jstep(s, jnp.int32(lay.place(27, 1)))  # seat 1 places at cell 27 ...
    m = np.flatnonzero(np.asarray(s.legal_action_mask))
    s = env.jstep(s, jnp.int32(m[0]))  # ... and moves
    assert int(s.cur) == 1 and int(s.current_player) == 1
    mask = np.asarray(s.legal_action_mask)
    assert mask[lay.special(actions.SWAP)]
    t = env.step_checked(s, lay.special(actions.SWAP))
    assert bool(t.swapped) and int(t.cur) == 1 and int(t.phase) == PLACE
    assert int(t.current_player) == 0  # agent 0 now owns seat 2
    np.testing.assert_array_equal(np.asarray(t.rings), np.asarray(s.rings))
    np.testing.assert_array_equal(np.asarray(t.hand), np.asarray(s.hand))
    assert not np.asarray(t.legal_action_mask)[lay.special(actions.SWAP)]


def test_rank_rewards_average_shared_ranks():
    cfg = RulesConfig(board="square8", num_players=4)
    s = turn.init(cfg)
    s = s.replace(phase=jnp.int32(GAME_OVER), ranks=jnp.asarray([1, 2, 2, 4], jnp.int32))
    out = turn.finish(cfg, s, jnp.zeros_like(s.legal_action_mask))
    np.testing.assert_allclose(np.asarray(out.rewards), [1.0, 0.0, 0.0, -1.0], atol=1e-6)
    assert bool(out.terminated) and not np.asarray(out.legal_action_mask).any()
