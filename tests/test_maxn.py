"""Max^n Gumbel search: equals mctx on 2-player zero-sum games; backs up per-seat values on a 3-player toy."""

import jax
import jax.numpy as jnp
import mctx
import numpy as np
import pytest

from jaxzero.bench.search import random_positions
from jaxzero.games.outcomes import rotate_to_mover
from jaxzero.search import SearchBudget, make_search, resolve_kind, run_maxn_search
from jaxzero.search.maxn import maxn_gumbel_muzero_policy
from jaxzero.search.vector_model import MaxnRecurrentFnOutput, MaxnRootFnOutput, to_absolute
from tests.helpers import linear_model

pgx = pytest.importorskip("pgx")
from jaxzero.games.protocol import PgxGame  # noqa: E402

# (game, positions, simulations, considered, max_depth, max random moves); connect four is slow tier
TWO_PLAYER_CASES = {
    "tic_tac_toe": (1024, 16, 16, None, 9),
    "connect_four": (1024, 16, 4, 3, 30),
}


@pytest.fixture(
    scope="module", params=["tic_tac_toe", pytest.param("connect_four", marks=pytest.mark.slow)]
)
def two_player_runs(request):
    name = request.param
    batch, sims, considered, max_depth, max_moves = TWO_PLAYER_CASES[name]
    game = PgxGame(pgx.make(name))
    apply_fn, params = linear_model(game, jax.random.PRNGKey(0))
    states = jax.jit(lambda k: random_positions(game, k, batch, max_moves))(jax.random.PRNGKey(1))
    budget = SearchBudget(num_simulations=sims, max_num_considered_actions=considered)
    run_mctx, run_maxn = (jax.jit(make_search(k, game, apply_fn, budget, max_depth=max_depth)) for k in ("mctx", "maxn"))
    key = jax.random.PRNGKey(2)
    return name, states, run_mctx(params, states, key), run_maxn(params, states, key)


def test_two_player_equals_mctx(two_player_runs):
    name, states, a, b = two_player_runs
    legal = np.asarray(states.legal_action_mask)
    assert legal.shape[0] >= 1000
    assert not np.asarray(states.terminated).any()
    act_a, act_b = np.asarray(a.action), np.asarray(b.action)
    assert legal[np.arange(len(act_b)), act_b].all()
    action_agreement = np.mean(act_a == act_b)
    w_err = np.abs(np.asarray(a.action_weights) - np.asarray(b.action_weights)).max(axis=-1)
    print(f"{name}: actions agree {action_agreement:.4f}, max |dw| {w_err.max():.2e}")
    assert action_agreement >= 0.99
    assert np.mean(w_err <= 1e-5) >= 0.99
    np.testing.assert_allclose(np.asarray(b.action_weights).sum(-1), 1.0, atol=1e-5)
    # Same tree shape: identical visit counts everywhere, node values equal up to float rounding.
    ta, tb = a.search_tree, b.search_tree
    same_visits = np.all(np.asarray(ta.children_visits) == np.asarray(tb.children_visits), axis=(1, 2))
    assert np.mean(same_visits) >= 0.99
    mover = np.asarray(tb.node_to_play)[..., None]
    vb = np.take_along_axis(np.asarray(tb.node_values), mover, -1)[..., 0]
    other = np.take_along_axis(np.asarray(tb.node_values), 1 - mover, -1)[..., 0]
    ok = same_visits[:, None]
    np.testing.assert_allclose(np.where(ok, vb, 0), np.where(ok, np.asarray(ta.node_values), 0), atol=1e-5)
    np.testing.assert_allclose(other, -vb, atol=1e-6)  # zero-sum vectors stay zero-sum


def test_relative_absolute_roundtrip():
    rel = jnp.arange(12.0).reshape(3, 4)
    to_play = jnp.array([0, 1, 3])
    ab = to_absolute(rel, to_play)
    np.testing.assert_array_equal(ab[1], [7.0, 4.0, 5.0, 6.0])
    np.testing.assert_array_equal(ab[2], [9.0, 10.0, 11.0, 8.0])
    np.testing.assert_array_equal(rotate_to_mover(ab, to_play), rel)


# ---------------------------------------------------------------------------------------------
# A hand-built 3-player game. Seat 0 moves at the root (node 0): action 0 -> node 1 ("L"),
# action 1 -> node 2 ("R"); the seat in MOVER_L / seat 1 moves at L / R, each action ends the game
# with the reward vector below. Node 7 is the absorbing state past the end.
#   L: a0 -> (0.6, 0.5, -1.0)   a1 -> (-1.0, 0.4, 0.6)
#   R: a0 -> (0.2, 0.3, -0.5)   a1 -> (0.1, -0.2, 0.1)
# max^n (seat 1 at L): seat 1 takes a0 at L (0.5 > 0.4), a0 at R (0.3 > -0.2): root gets 0.6 vs 0.2 -> L.
# paranoid (u = (v0 - max others) / 2): L -> min(0.05, -0.8), R -> min(-0.05, 0.0): root takes R.
# With seat 2 moving at L, max^n gives L -> -1.0 (seat 2 takes a1), so the root takes R.

NEXT = np.array([[1, 2], [3, 4], [5, 6]] + [[7, 7]] * 5, np.int32)
REWARD = np.zeros((8, 3), np.float32)
REWARD[3:7] = [[0.6, 0.5, -1.0], [-1.0, 0.4, 0.6], [0.2, 0.3, -0.5], [0.1, -0.2, 0.1]]
TERMINAL = np.array([0, 0, 0, 1, 1, 1, 1, 1], bool)
RAW = np.zeros((8, 3), np.float32)
RAW[1] = [0.1, 0.45, -0.2]
RAW[2] = [0.0, 0.2, -0.2]
# priors lean to a1 at L and R (the wrong way for seat 1), so search has to find a0
LOGITS = np.zeros((8, 2), np.float32)
LOGITS[1] = [0.0, 1.0]
LOGITS[2] = [0.0, 1.0]
TOY_SIMS = 24


def toy_tables(mover_l):
    to_play = np.array([0, mover_l, 1, 0, 0, 0, 0, 0], np.int32)
    return {k: jnp.asarray(v) for k, v in dict(next=NEXT, reward=REWARD, terminal=TERMINAL, raw=RAW,
                                                logits=LOGITS, to_play=to_play).items()}


def toy_root(t, batch):
    node = jnp.zeros((batch,), jnp.int32)
    return MaxnRootFnOutput(prior_logits=t["logits"][node], value=t["raw"][node], embedding=node,
                            to_play=t["to_play"][node])


def toy_recurrent_fn(t, key, action, node):
    del key
    nxt = t["next"][node, action]
    terminal = t["terminal"][nxt]
    out = MaxnRecurrentFnOutput(
        reward=jnp.where(t["terminal"][node][:, None], 0.0, t["reward"][nxt]),
        discount=jnp.where(terminal, 0.0, 1.0),
        prior_logits=t["logits"][nxt],
        value=jnp.where(terminal[:, None], 0.0, t["raw"][nxt]),
        to_play=t["to_play"][nxt],
    )
    return out, nxt


@pytest.fixture(scope="module")
def toy_maxn():
    @jax.jit
    def run(tables, key):
        return maxn_gumbel_muzero_policy(tables, key, toy_root(tables, 2), toy_recurrent_fn, TOY_SIMS,
                                         max_num_considered_actions=2, gumbel_scale=0.0)
    return run


def check_backups(tree, b):
    """Every node's value vector is the visit-weighted mean of its raw value and its children's returns,
    computed here from the game's tables (terminal children return their reward vector)."""
    nodes = np.asarray(tree.embeddings[b])  # toy node id of every tree node
    visits = np.asarray(tree.node_visits[b])
    children = np.asarray(tree.children_index[b])
    values = np.asarray(tree.node_values[b])
    expected = {}

    def value_of(n):  # expected value vector of tree node n, from the tables alone
        toy = nodes[n]
        total = RAW[toy].astype(np.float64) * (0.0 if TERMINAL[toy] else 1.0)
        count = 1
        for a in range(2):
            c = children[n, a]
            if c < 0:
                continue
            child_toy = nodes[c]
            assert child_toy == NEXT[toy, a]
            ret = (0.0 if TERMINAL[toy] else REWARD[child_toy]) + (0.0 if TERMINAL[child_toy] else value_of(c))
            total = total + visits[c] * np.asarray(ret, np.float64)
            count += visits[c]
        assert count == visits[n]
        expected[n] = total / count
        return expected[n]

    value_of(0)
    for n, v in expected.items():
        np.testing.assert_allclose(values[n], v, atol=1e-6, err_msg=f"node {n} (toy node {nodes[n]})")
    return expected


@pytest.mark.parametrize("mover_l, root_choice, l_choice", [(1, 0, 0), (2, 1, 1)])
def test_maxn_toy_three_players(toy_maxn, mover_l, root_choice, l_choice):
    out = toy_maxn(toy_tables(mover_l), jax.random.PRNGKey(0))
    tree = out.search_tree
    assert np.asarray(out.action).tolist() == [root_choice, root_choice]
    assert np.asarray(tree.node_visits[:, 0]).tolist() == [TOY_SIMS + 1] * 2
    for b in range(2):
        expected = check_backups(tree, b)
        # the seat moving at L spends its visits on its own best leaf, against the prior
        l_node = int(tree.children_index[b, 0, 0])
        l_visits = np.asarray(tree.children_visits[b, l_node])
        assert l_visits[l_choice] > l_visits[1 - l_choice]
        # root's completed-Q input is seat 0's component of the children's returns
        q = np.asarray(tree.summary().qvalues[b])
        for a in range(2):
            np.testing.assert_allclose(q[a], expected[int(tree.children_index[b, 0, a])], atol=1e-6)
        assert q[root_choice, 0] > q[1 - root_choice, 0]
    w = np.asarray(out.action_weights)
    assert (w[:, root_choice] > 0.5).all()


def test_mctx_output_type(toy_maxn):
    out = toy_maxn(toy_tables(1), jax.random.PRNGKey(1))
    assert isinstance(out, mctx.PolicyOutput)
    s = out.search_tree.summary()
    assert s.value.shape == (2, 3) and s.qvalues.shape == (2, 2, 3)
    np.testing.assert_array_equal(s.to_play, [0, 0])


# ---------------------------------------------------------------------------------------------
# The game adapter (make_maxn_model / run_maxn_search) on a P-player game: Nim where each move
# takes 1 or 2 stones and whoever takes the last stone gets +1, the others -1/(P-1).

from flax import struct  # noqa: E402


@struct.dataclass
class _NimState:
    pile: jax.Array
    current_player: jax.Array
    legal_action_mask: jax.Array
    rewards: jax.Array
    terminated: jax.Array
    truncated: jax.Array


class Nim:
    num_actions = 2
    observation_shape = (8,)

    def __init__(self, num_players):
        self.num_players = num_players
        self.id = f"nim{num_players}"

    def init(self, key):
        return self.at(jnp.int32(7), jnp.int32(0))

    def at(self, pile, player):
        return _NimState(pile=pile, current_player=player, legal_action_mask=jnp.arange(2) < pile,
                         rewards=jnp.zeros(self.num_players), terminated=pile == 0, truncated=jnp.bool_(False))

    def step(self, state, action, key):
        p = self.num_players
        pile = jnp.maximum(state.pile - action - 1, 0)
        won = (pile == 0) & ~state.terminated
        nxt = self.at(pile, jnp.where(state.terminated, state.current_player, (state.current_player + 1) % p))
        rewards = jnp.where(won, jnp.where(jnp.arange(p) == state.current_player, 1.0, -1.0 / (p - 1)), 0.0)
        return nxt.replace(rewards=rewards)

    def observe(self, state):
        return jax.nn.one_hot(state.pile, 8)


@pytest.mark.parametrize("num_players", [3, pytest.param(4, marks=pytest.mark.slow)])
def test_run_maxn_search_multiplayer(num_players):
    p = num_players
    game = Nim(p)

    def apply_fn(params, obs):  # prior prefers "take 1"; mover-relative values mark seat +1 as ahead
        b = obs.shape[0]
        return jnp.tile(jnp.array([1.0, 0.0]), (b, 1)), jnp.tile(params, (b, 1))

    params = jnp.array([0.0, 0.1, -0.1, 0.05][:p])
    piles = jnp.array([2, 3, 2, 3], jnp.int32)
    movers = jnp.array([0, 1, 2, p - 1], jnp.int32)
    states = jax.vmap(game.at)(piles, movers)
    budget = SearchBudget(num_simulations=16, max_num_considered_actions=2, gumbel_scale=0.0)
    run = jax.jit(lambda p, s, k: run_maxn_search(game, apply_fn, budget, p, s, k))
    out = run(params, states, jax.random.PRNGKey(0))
    s = out.search_tree.summary()
    np.testing.assert_array_equal(s.to_play, movers)
    raw = np.asarray(out.search_tree.raw_values[:, 0])
    for b, m in enumerate(np.asarray(movers)):  # the root value is the network's, rotated to absolute seats
        np.testing.assert_allclose(raw[b, (m + np.arange(p)) % p], params, atol=1e-7)
    act = np.asarray(out.action)
    value = np.asarray(s.value)
    # SearchOutput.search_value: the chosen move's vector Q-value, the component of the seat to move
    chosen_q = np.asarray(s.qvalues)[np.arange(len(movers)), act]
    np.testing.assert_allclose(out.search_value, chosen_q[np.arange(len(movers)), np.asarray(movers)], rtol=1e-6)
    for b, (pile, m) in enumerate(zip(np.asarray(piles), np.asarray(movers))):
        if pile == 2:  # taking both stones wins at once
            assert act[b] == 1 and out.action_weights[b, 1] > 0.5
            np.testing.assert_allclose(s.qvalues[b, 1], np.where(np.arange(p) == m, 1.0, -1.0 / (p - 1)), atol=1e-7)
            assert value[b, m] > 0  # a mean over both root actions, which sequential halving both visits
        else:  # from 3 stones the next seat wins whatever the mover does
            others = [(m + k) % p for k in range(p) if k != 1]
            assert value[b, (m + 1) % p] > 0.5 and (value[b, others] < 0).all()
            assert (s.qvalues[b, :, (m + 1) % p] > 0.5).all()


def test_search_kind_switch():
    budget = SearchBudget(num_simulations=4, max_num_considered_actions=2, gumbel_scale=1.0)
    with pytest.raises(ValueError, match="unknown search kind"):
        make_search("alphabeta", Nim(3), None, budget)
    with pytest.raises(ValueError, match="needs 2 players"):
        make_search("mctx", Nim(3), None, budget)
    with pytest.raises(ValueError, match="unexpected options"):
        make_search("maxn", Nim(3), None, budget, reduce="max")
    with pytest.raises(TypeError, match="SearchBudget"):
        make_search("maxn", Nim(3), None, dict(num_simulations=4, max_num_considered_actions=2))
    for kind in ("auto", "maxn", "paranoid"):
        assert callable(make_search(kind, Nim(4), None, budget))
    assert callable(make_search("auto", Nim(2), None, budget))
    assert callable(make_search("paranoid", Nim(3), None, budget, reduce="mean", max_depth=3))
    assert [resolve_kind(k, 2) for k in ("auto", "mctx", "maxn", "paranoid")] == ["mctx", "mctx", "maxn", "paranoid"]
    assert [resolve_kind(k, 3) for k in ("auto", "maxn", "paranoid")] == ["maxn", "maxn", "paranoid"]


def test_search_budget_rejects_empty_budgets():
    with pytest.raises(ValueError, match="num_simulations"):
        SearchBudget(num_simulations=0, max_num_considered_actions=2)
    with pytest.raises(ValueError, match="max_num_considered_actions"):
        SearchBudget(num_simulations=4, max_num_considered_actions=0)
    with pytest.raises(ValueError, match="gumbel_scale"):
        SearchBudget(num_simulations=4, max_num_considered_actions=2, gumbel_scale=-1.0)
