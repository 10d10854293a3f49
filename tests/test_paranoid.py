"""Paranoid reduction through mctx: the utility, the 3-player toy (differs from max^n), 2-player = mctx."""

import jax
import jax.numpy as jnp
import mctx
import numpy as np
import pytest

from jaxzero.search.paranoid import paranoid_gumbel_muzero_policy, paranoid_utility
from jaxzero.search.vector_model import MaxnRecurrentFnOutput, MaxnRootFnOutput
from tests.test_maxn import REWARD, TOY_SIMS, toy_recurrent_fn, toy_root, toy_tables


def test_paranoid_utility():
    v = jnp.array([[0.6, 0.5, -1.0], [0.6, 0.5, -1.0]])
    seat = jnp.array([0, 2])
    np.testing.assert_allclose(paranoid_utility(v, seat, "max"), [(0.6 - 0.5) / 2, (-1.0 - 0.6) / 2], rtol=1e-6)
    np.testing.assert_allclose(paranoid_utility(v, seat, "mean"), [(0.6 + 0.25) / 2, (-1.0 - 0.55) / 2], rtol=1e-6)
    four = jnp.array([[0.2, 0.3, -0.5, 0.1]])
    np.testing.assert_allclose(paranoid_utility(four, jnp.array([3]), "max"), [(0.1 - 0.3) / 2], rtol=1e-6)
    # two zero-sum players: u is exactly the root seat's value
    two = jnp.array([[0.37, -0.37], [-0.9, 0.9]])
    np.testing.assert_array_equal(paranoid_utility(two, jnp.array([0, 0]), "max"), two[:, 0])
    np.testing.assert_array_equal(paranoid_utility(two, jnp.array([1, 1]), "mean"), two[:, 1])
    with pytest.raises(ValueError):
        paranoid_utility(two, jnp.array([0, 0]), "min")


@pytest.fixture(scope="module")
def toy_paranoid():
    @jax.jit
    def run(tables, key):
        return paranoid_gumbel_muzero_policy(tables, key, toy_root(tables, 2), toy_recurrent_fn, TOY_SIMS,
                                             max_num_considered_actions=2, gumbel_scale=0.0)
    return run


def test_paranoid_toy_differs_from_maxn(toy_paranoid):
    # max^n picks L (tests/test_maxn.py); paranoid assumes seat 1 hurts seat 0 at L and picks R
    out = toy_paranoid(toy_tables(1), jax.random.PRNGKey(0))
    tree = out.search_tree
    assert np.asarray(out.action).tolist() == [1, 1]
    for b in range(2):
        l_node = int(tree.children_index[b, 0, 0])
        assert int(tree.embeddings.inner[b, l_node]) == 1
        visits = np.asarray(tree.children_visits[b, l_node])
        assert visits[1] > visits[0]  # the coalition takes the leaf worst for seat 0
        # the reduction: root -> L changes side (discount -1); at L the opponents' reward is -u(leaf)
        np.testing.assert_array_equal(tree.children_discounts[b, 0], [-1.0, -1.0])
        u_leaves = (REWARD[[3, 4], 0] - REWARD[[3, 4], 1:].max(-1)) / 2
        seen = visits > 0
        np.testing.assert_allclose(np.asarray(tree.children_rewards[b, l_node])[seen], -u_leaves[seen], rtol=1e-6)
        np.testing.assert_array_equal(np.asarray(tree.children_discounts[b, l_node])[seen], 0.0)
        # mctx's own backup, checked on every node: value = mean of raw value and child returns
        v = np.asarray(tree.node_values[b])
        n = np.asarray(tree.node_visits[b])
        for node in range(tree.node_values.shape[1]):
            if n[node] == 0:
                continue
            cv = np.asarray(tree.children_visits[b, node])
            q = np.asarray(
                tree.children_rewards[b, node] + tree.children_discounts[b, node] * tree.children_values[b, node]
            )
            np.testing.assert_allclose(v[node] * n[node], tree.raw_values[b, node] + (cv * q).sum(), atol=1e-5)
    # root Q of L in seat 0's utility is about the coalition's leaf (-0.8), of R about -0.05
    q_root = np.asarray(tree.summary().qvalues)
    assert (q_root[:, 0] < -0.5).all() and (np.abs(q_root[:, 1] + 0.05) < 0.1).all()


# A random 2-player zero-sum game as tables (sometimes the same seat moves twice).
S, A = 40, 3


def random_two_player_tables(seed):
    rng = np.random.default_rng(seed)
    terminal = rng.random(S) < 0.25
    terminal[0] = False
    nxt = rng.integers(0, S, (S, A))
    nxt[terminal] = np.arange(S)[terminal, None]  # absorbing
    r = np.where(terminal, rng.choice([-1.0, 0.0, 1.0], S), 0.0).astype(np.float32)
    v = np.where(terminal, 0.0, rng.uniform(-1, 1, S)).astype(np.float32)
    return {
        "next": jnp.asarray(nxt, jnp.int32),
        "terminal": jnp.asarray(terminal),
        "reward": jnp.asarray(np.stack([r, -r], -1)),  # entering state s
        "value": jnp.asarray(np.stack([v, -v], -1)),  # absolute seats
        "to_play": jnp.asarray(rng.integers(0, 2, S), jnp.int32),
        "logits": jnp.asarray(rng.normal(size=(S, A)), jnp.float32),
    }


def _step(t, node, action):
    nxt = t["next"][node, action]
    done_before = t["terminal"][node]
    return nxt, t["terminal"][nxt], jnp.where(done_before[:, None], 0.0, t["reward"][nxt])


def vec_recurrent(t, key, action, node):
    nxt, term, reward = _step(t, node, action)
    return MaxnRecurrentFnOutput(reward=reward, discount=jnp.where(term, 0.0, 1.0), prior_logits=t["logits"][nxt],
                                 value=t["value"][nxt], to_play=t["to_play"][nxt]), nxt


def mctx_recurrent(t, key, action, node):
    nxt, term, reward = _step(t, node, action)
    mover, nxt_mover = t["to_play"][node], t["to_play"][nxt]
    out = mctx.RecurrentFnOutput(
        reward=jnp.take_along_axis(reward, mover[:, None], 1)[:, 0],
        discount=jnp.where(term, 0.0, jnp.where(nxt_mover == mover, 1.0, -1.0)),
        prior_logits=t["logits"][nxt],
        value=jnp.take_along_axis(t["value"][nxt], nxt_mover[:, None], 1)[:, 0],
    )
    return out, nxt


def test_two_players_paranoid_equals_mctx():
    batch, sims = 256, 12
    roots = jnp.asarray(np.random.default_rng(1).integers(0, S, batch), jnp.int32)

    @jax.jit
    def run(t, key):
        roots_ = jnp.where(t["terminal"][roots], 0, roots)
        mover = t["to_play"][roots_]
        invalid = jnp.zeros((batch, A), bool).at[:, 2].set(roots_ % 3 == 0)  # some root masks
        vec_root = MaxnRootFnOutput(prior_logits=t["logits"][roots_], value=t["value"][roots_], embedding=roots_,
                                    to_play=mover)
        scalar_root = mctx.RootFnOutput(prior_logits=t["logits"][roots_], embedding=roots_,
                                        value=jnp.take_along_axis(t["value"][roots_], mover[:, None], 1)[:, 0])
        kw = dict(invalid_actions=invalid, max_depth=4, max_num_considered_actions=2)
        ref = mctx.gumbel_muzero_policy(t, key, scalar_root, mctx_recurrent, sims, **kw)
        par = [paranoid_gumbel_muzero_policy(t, key, vec_root, vec_recurrent, sims, reduce=r, **kw)
               for r in ("max", "mean")]
        return ref, par

    ref, par = run(random_two_player_tables(0), jax.random.PRNGKey(3))
    for p in par:
        np.testing.assert_array_equal(p.action, ref.action)
        np.testing.assert_allclose(p.action_weights, ref.action_weights, atol=1e-6)
        np.testing.assert_array_equal(p.search_tree.children_visits, ref.search_tree.children_visits)
        np.testing.assert_allclose(p.search_tree.node_values, ref.search_tree.node_values, atol=1e-6)
