"""Self-play: exact value targets for a hand-made trajectory, truncation, batched play."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxzero.config import default_config
from jaxzero.games.registry import make_game
from jaxzero.nn import make_model
from jaxzero.selfplay import SelfPlay, Trajectory, init_slots, value_targets


def test_value_targets_hand_made_trajectory():
    # T=5 moves, B=2 slots, 2 players.
    # slot 0: game A at t0..t2 (movers 0,1,0) ends at t2, seat 0 wins; game B at t3,t4 unfinished.
    # slot 1: game C at t0..t1 truncated at t1; game D at t2..t4 (movers 0,1,0) ends at t4, seat 1 wins.
    T, B, P = 5, 2, 2
    done = np.zeros((T, B), bool)
    trunc = np.zeros((T, B), bool)
    returns = np.zeros((T, B, P), np.float32)
    done[2, 0] = True
    returns[2, 0] = [1, -1]
    done[1, 1] = trunc[1, 1] = True
    done[4, 1] = True
    returns[4, 1] = [-1, 1]
    mover = np.array([[0, 0], [1, 1], [0, 0], [1, 1], [0, 0]], np.int32)
    traj = Trajectory(
        obs=jnp.zeros((T, B, 1)),
        policy=jnp.zeros((T, B, 3)),
        mover=jnp.array(mover),
        legal=jnp.ones((T, B, 3), bool),
        game_id=jnp.zeros((T, B), jnp.int32),
        valid=jnp.ones((T, B), bool),
        done=jnp.array(done),
        truncated=jnp.array(trunc),
        returns=jnp.array(returns),
    )
    values, mask = value_targets(traj)
    np.testing.assert_array_equal(mask, [[1, 0], [1, 0], [1, 1], [0, 1], [0, 1]])
    expected = np.array(
        [
            [[1, -1], [0, 0]],
            [[-1, 1], [0, 0]],
            [[1, -1], [-1, 1]],
            [[0, 0], [1, -1]],
            [[0, 0], [-1, 1]],
        ],
        np.float32,
    )
    m = np.asarray(mask)
    np.testing.assert_allclose(np.asarray(values)[m], expected[m])


@pytest.fixture(scope="module")
def ttt():
    game = make_game("tic_tac_toe")
    cfg = default_config()
    cfg.net.num_blocks, cfg.net.channels, cfg.net.value_hidden = 1, 8, 16
    model, params = make_model(cfg.net, game)
    return game, model, params


def test_playout_cap_randomisation_masks_fast_search_policies(ttt):
    game, model, params = ttt
    sp = SelfPlay(game, model.apply, num_simulations=8, max_num_considered_actions=9, max_moves=9,
                  full_search_prob=0.5, fast_simulations=2, fast_considered=2)
    slots = init_slots(game, 4, jax.random.key(0))
    _, traj = sp.play(params, slots, jax.random.key(1), num_steps=16)
    mask = np.asarray(traj.policy_mask)
    # one draw per move for the batch: a move is a full search (policy target) in every slot or in none
    assert np.all(mask == mask[:, :1])
    assert 0 < mask[:, 0].sum() < 16  # both kinds of search occurred (p = 2 * 0.5 ** 16 otherwise)
    w, legal = np.asarray(traj.policy), np.asarray(traj.legal)
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-5)  # fast searches still give a legal policy to play
    assert np.all(w[~legal] == 0.0) and np.all(np.asarray(traj.legal_overflow) == 0)


def test_a_value_prior_weighted_zero_plays_the_plain_games_and_weighted_one_changes_the_targets(ttt):
    """SelfPlay.value_prior: the search mixes it in by the weight given to `play` (traced: one compile)."""
    game, model, params = ttt

    def prior(state):  # the mover's value from the board alone: any state function will do
        x = jnp.tanh(jnp.sum(game.observe(state) * jnp.arange(9.0).reshape(3, 3, 1)) / 5.0)
        return jnp.stack([x, -x])

    kw = dict(num_simulations=8, max_num_considered_actions=9, max_moves=9, temperature_moves=2)
    plain = SelfPlay(game, model.apply, **kw)
    mixed = SelfPlay(game, model.apply, value_prior=prior, **kw)
    slots = init_slots(game, 4, jax.random.key(0))
    _, want = plain.play(params, slots, jax.random.key(1), num_steps=6)
    _, got = mixed.play(params, slots, jax.random.key(1), num_steps=6, prior_weight=0.0)
    np.testing.assert_array_equal(got.obs, want.obs)  # the same moves
    np.testing.assert_allclose(got.policy, want.policy, atol=1e-6)
    _, full = mixed.play(params, slots, jax.random.key(1), num_steps=6, prior_weight=1.0)
    assert np.abs(np.asarray(full.policy) - np.asarray(want.policy)).max() > 1e-3
    assert mixed.play._cache_size() == 1


def test_chosen_policy_target_is_a_one_hot_of_the_searched_move(ttt):
    """selfplay.policy_target "chosen" (expert iteration): the same games as "improved", each searched
    position's target a one-hot of the move the search chose (here every move: no temperature moves)."""
    game, model, params = ttt
    kw = dict(num_simulations=8, max_num_considered_actions=9, max_moves=9, temperature_moves=0)
    slots = init_slots(game, 4, jax.random.key(0))
    _, soft = SelfPlay(game, model.apply, **kw).play(params, slots, jax.random.key(1), num_steps=12)
    _, hard = SelfPlay(game, model.apply, policy_target="chosen", **kw).play(params, slots, jax.random.key(1),
                                                                            num_steps=12)
    np.testing.assert_array_equal(hard.obs, soft.obs)
    policy, legal, done = np.asarray(hard.policy), np.asarray(hard.legal), np.asarray(hard.done)
    assert np.all(policy.sum(-1) == 1.0) and np.all(policy.max(-1) == 1.0)
    assert np.all(legal[policy == 1.0])
    assert np.abs(np.asarray(soft.policy) - policy).max() > 0.1  # the soft targets differ
    checked = 0
    for t in range(policy.shape[0] - 1):
        for b in range(policy.shape[1]):
            if done[t, b]:
                continue
            played = np.flatnonzero(legal[t, b] & ~legal[t + 1, b])  # tic-tac-toe: the cell just filled
            assert played.tolist() == [int(policy[t, b].argmax())]
            checked += 1
    assert checked > 20
    with pytest.raises(ValueError, match="policy target"):
        SelfPlay(game, model.apply, policy_target="visits", **kw)


def test_selfplay_batch_runs_whole_games(ttt):
    game, model, params = ttt
    sp = SelfPlay(game, model.apply, num_simulations=8, max_num_considered_actions=9, temperature_moves=2, max_moves=9)
    slots = init_slots(game, 8, jax.random.key(0))
    slots, traj = sp.play(params, slots, jax.random.key(1), num_steps=12)
    slots, traj2 = sp.play(params, slots, jax.random.key(2), num_steps=12)
    assert sp.play._cache_size() == 1  # one compile for repeated chunks
    assert traj.obs.shape == (12, 8, 3, 3, 2) and traj.policy.shape == (12, 8, 9)
    w, legal = np.asarray(traj.policy), np.asarray(traj.legal)
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-5)
    assert np.all(w[~legal] == 0.0)
    assert np.all(np.asarray(traj.valid))  # auto-reset: every recorded position is live
    done = np.asarray(traj.done)
    assert done.sum() >= 8  # tic-tac-toe games last 5..9 moves: every slot finished one in 12 moves
    # a finished game hands its slot a new id; ids are unique per slot (b, b+B, ...)
    ids = np.asarray(traj.game_id)
    assert np.all(ids % 8 == np.arange(8)[None, :])
    assert np.all((ids[1:] != ids[:-1]) == done[:-1])
    # the player who makes the last move of a tic-tac-toe game wins or draws
    values, mask = value_targets(traj)
    last = np.asarray(values)[done][:, 0]
    assert np.all(np.isin(last, [0.0, 1.0])) and np.asarray(mask)[done].all()
    # zero-sum two-player targets
    np.testing.assert_allclose(np.asarray(values)[np.asarray(mask)].sum(-1), 0.0, atol=1e-6)
    # every searched position records the search's root value: a value in [-1, 1], +1 where the mover wins at once
    q = np.asarray(traj.search_value)
    assert np.isfinite(q).all() and np.abs(q).max() <= 1.0 + 1e-6
    wins = done & (np.asarray(traj.returns)[..., 0] != 0) & (np.asarray(traj.policy).max(-1) > 0.9)
    assert q.std() > 0 and (q[wins] > 0).all()


def test_games_ending_in_a_later_window_label_their_earlier_positions(ttt):
    """Windows of 3 moves (shorter than tic-tac-toe games): the buffer rows of a game that ends in
    the next window get exactly the targets `value_targets` gives over the two windows joined."""
    from jaxzero import replay
    from jaxzero.loop import trajectory_to_batch
    from jaxzero.selfplay import concat_trajectories, finished_games

    game, model, params = ttt
    sp = SelfPlay(game, model.apply, num_simulations=4, max_num_considered_actions=9, max_moves=9)
    slots = init_slots(game, 8, jax.random.key(0))
    slots, w1 = sp.play(params, slots, jax.random.key(1), num_steps=3)
    slots, w2 = sp.play(params, slots, jax.random.key(2), num_steps=3)
    all_slots = slice(0, 8)
    buf = replay.init_buffer(64, game.observation_shape, game.num_actions, game.num_players)
    buf = replay.add(buf, trajectory_to_batch(w1, *value_targets(w1), all_slots))
    assert not np.asarray(buf.data.value_mask).any()  # no game ends within its first 3 moves
    buf, labelled = replay.label_finished(buf, *finished_games(w2))
    buf = replay.add(buf, trajectory_to_batch(w2, *value_targets(w2), all_slots))

    joined_values, joined_mask = value_targets(concat_trajectories([w1, w2]))
    want_mask = np.asarray(joined_mask).reshape(-1)
    want_values = np.asarray(joined_values).reshape(-1, 2)
    got_mask, got_values = np.asarray(buf.data.value_mask)[:48], np.asarray(buf.data.value)[:48]
    ended_in_w2 = np.isin(np.asarray(w1.game_id), np.asarray(w2.game_id)[np.asarray(w2.done)])
    assert ended_in_w2.any() and int(labelled) == int(want_mask[:24].sum()) > 0
    np.testing.assert_array_equal(got_mask, want_mask)
    np.testing.assert_allclose(got_values[want_mask], want_values[want_mask])
    # a second pass labels nothing new (rows with a target are left alone)
    _, again = replay.label_finished(buf, *finished_games(w2))
    assert int(again) == 0


def test_truncated_games_get_no_value_target(ttt):
    game, model, params = ttt
    sp = SelfPlay(game, model.apply, num_simulations=4, max_num_considered_actions=9, max_moves=3)
    slots = init_slots(game, 4, jax.random.key(0))
    slots, traj = sp.play(params, slots, jax.random.key(1), num_steps=6)
    # no tic-tac-toe game ends within 3 moves, so each is cut at 3 and restarted
    np.testing.assert_array_equal(np.asarray(traj.done)[[2, 5]], True)
    assert np.asarray(traj.truncated).sum() == 8 and np.asarray(traj.done).sum() == 8
    _, mask = value_targets(traj)
    assert not np.asarray(mask).any()
    np.testing.assert_array_equal(slots.moves, 0)


_MIXED = {}  # one compiled SelfPlay per (seats, one_hot) option pair


def _mixed(ttt, share, seats, one_hot, steps=18, batch=32):
    from jaxzero.players import greedy_reward_player
    from jaxzero.selfplay import assign_heuristic_seats

    game, model, params = ttt
    if (seats, one_hot) not in _MIXED:
        _MIXED[seats, one_hot] = SelfPlay(
            game, model.apply, num_simulations=4, max_num_considered_actions=9, max_moves=9,
            heuristic=greedy_reward_player(game), heuristic_seats=seats, heuristic_policy_target=one_hot)
    sp = _MIXED[seats, one_hot]
    slots = assign_heuristic_seats(init_slots(game, batch, jax.random.key(0)), jax.random.key(5), share, seats)
    slots, traj = sp.play(params, slots, jax.random.key(1), num_steps=steps, heuristic_share=share)
    return sp, jax.device_get(traj), slots


def test_one_heuristic_seat_per_game_and_no_policy_target(ttt):
    sp, traj, slots = _mixed(ttt, 1.0, "one", False)
    assert np.asarray(slots.heuristic).sum(1).tolist() == [1] * 32  # exactly one heuristic seat per game
    src, mover, ids = np.asarray(traj.source), np.asarray(traj.mover), np.asarray(traj.game_id)
    assert np.asarray(traj.heuristic_game).all()
    # per game, the heuristic moves are exactly those of one seat
    for g in np.unique(ids):
        m = ids == g
        h, searched = set(mover[m & (src == 1)]), set(mover[m & (src == 0)])
        assert not h & searched
        if m.sum() >= 2:  # both seats moved in this window: one is the heuristic's
            assert len(h) == 1 and len(searched) == 1
    assert (src == 1).any() and (src == 0).any()
    np.testing.assert_array_equal(np.asarray(traj.policy_mask), src == 0)
    _, mask = value_targets(traj)
    assert np.asarray(mask)[src == 1].any()  # heuristic positions keep their value targets


def test_heuristic_one_hot_policy_target_and_zero_share(ttt):
    sp, traj, _ = _mixed(ttt, 1.0, "all", True)
    pol, src, legal = np.asarray(traj.policy), np.asarray(traj.source), np.asarray(traj.legal)
    assert (src == 1).all() and np.asarray(traj.policy_mask).all()
    np.testing.assert_array_equal(pol.max(-1), 1.0)  # one-hot targets at legal moves
    assert legal[np.arange(pol.shape[0])[:, None], np.arange(pol.shape[1])[None, :], pol.argmax(-1)].all()
    # share 0: no heuristic seat, every position a search position with a policy target
    sp0, traj0, slots0 = _mixed(ttt, 0.0, "all", True)  # same compiled function, share is an argument
    assert sp0 is sp and sp.play._cache_size() == 1
    assert not np.asarray(traj0.source).any() and not np.asarray(slots0.heuristic).any()
    assert np.asarray(traj0.policy_mask).all()


def test_greedy_reward_player_takes_an_immediate_win(ttt):
    from jaxzero.players import greedy_reward_player

    game, _, _ = ttt
    # X plays 0, 1 (O plays 3, 4): X to move wins at 2
    key = jax.random.key(1)
    states = jax.jit(jax.vmap(game.init))(jax.random.split(key, 16))
    step = jax.jit(jax.vmap(game.step, in_axes=(0, None, None)))
    for a in (0, 3, 1, 4):
        states = step(states, jnp.int32(a), key)
    acts = jax.jit(greedy_reward_player(game))(states, key)
    np.testing.assert_array_equal(acts, 2)


def _first_legal_player(states, key):
    """A deterministic player: the lowest legal action id."""
    del key
    return jnp.argmax(states.legal_action_mask, axis=-1).astype(jnp.int32)


def test_player_play_records_the_players_moves_as_one_hot_targets_and_replays_exactly(ttt):
    from jaxzero.selfplay import SOURCE_HEURISTIC, PlayerPlay

    game, _, _ = ttt
    pp = PlayerPlay(game, _first_legal_player, max_moves=9)
    batch, steps = 3, 20
    slots = pp.init_slots(batch, jax.random.key(0))
    assert np.asarray(slots.heuristic).all()
    _, traj = pp.play(slots, jax.random.key(1), num_steps=steps)
    traj = jax.device_get(traj)
    pol, legal = np.asarray(traj.policy), np.asarray(traj.legal)
    action = pol.argmax(-1)
    np.testing.assert_array_equal(pol.sum(-1), 1.0)  # one-hot
    np.testing.assert_array_equal(action, legal.argmax(-1))  # ... at the player's move (lowest legal id)
    assert (np.asarray(traj.source) == SOURCE_HEURISTIC).all() and np.asarray(traj.policy_mask).all()
    assert np.asarray(traj.heuristic_game).all()
    assert np.isnan(np.asarray(traj.search_value)).all()  # no search: no search value (Q+z keeps z there)
    # replaying the recorded moves from the initial position gives the recorded observations and game ends
    step = jax.jit(game.step)
    for b in range(batch):
        state, ends = game.init(jax.random.key(0)), 0
        for t in range(steps):
            np.testing.assert_array_equal(np.asarray(game.observe(state)), traj.obs[t, b])
            state = step(state, jnp.int32(action[t, b]), jax.random.key(2))
            done = bool(state.terminated | state.truncated)
            assert done == bool(traj.done[t, b]), (b, t)
            if done:
                ends += 1
                state = game.init(jax.random.key(0))
        assert ends >= 2  # tic-tac-toe with the lowest-id player ends after 7 moves
    values, mask = value_targets(traj)
    assert np.asarray(mask).any()


def test_player_play_records_a_target_distribution_when_given_one(ttt):
    """With ``target`` (a distillation target such as the heuristic's move distribution) each
    position's policy target is that distribution of the position, while the player's moves are played."""
    from jaxzero.selfplay import PlayerPlay

    game, _, _ = ttt

    def uniform(state):
        legal = state.legal_action_mask.astype(jnp.float32)
        return legal / legal.sum()

    plain = PlayerPlay(game, _first_legal_player, max_moves=9)
    soft = PlayerPlay(game, _first_legal_player, max_moves=9, target=uniform)
    slots = plain.init_slots(2, jax.random.key(0))
    _, a = plain.play(slots, jax.random.key(1), num_steps=12)
    _, b = soft.play(slots, jax.random.key(1), num_steps=12)
    legal = np.asarray(b.legal)
    np.testing.assert_allclose(np.asarray(b.policy), legal / legal.sum(-1, keepdims=True), rtol=1e-6)
    # the same games: only the targets differ
    np.testing.assert_array_equal(np.asarray(a.obs), np.asarray(b.obs))
    np.testing.assert_array_equal(np.asarray(a.done), np.asarray(b.done))


def test_search_value_error_compares_the_search_values_with_the_outcomes_where_both_exist():
    from jaxzero.loop.data import Window, search_value_error

    t, b = 3, 2
    done = np.zeros((t, b), bool)
    done[2, 0] = True  # slot 0's game ends, seat 0 wins; slot 1's is unfinished (no outcome)
    returns = np.zeros((t, b, 2), np.float32)
    returns[2, 0] = [1, -1]
    q = np.array([[0.5, 0.9], [np.nan, 0.9], [1.0, 0.9]], np.float32)  # slot 0, t=1: a heuristic game's move
    traj = Trajectory(obs=jnp.zeros((t, b, 1)), policy=jnp.zeros((t, b, 3)), mover=jnp.zeros((t, b), jnp.int32),
                      legal=jnp.ones((t, b, 3), bool), game_id=jnp.zeros((t, b), jnp.int32),
                      valid=jnp.ones((t, b), bool), done=jnp.asarray(done), truncated=jnp.zeros((t, b), bool),
                      returns=jnp.asarray(returns), search_value=jnp.asarray(q))
    values, mask = value_targets(traj)
    window = Window(traj, values, mask, 0.0)
    np.testing.assert_allclose(search_value_error(window, slice(0, 2)), (0.25 + 0.0) / 2, rtol=1e-6)
    assert np.isnan(search_value_error(window, slice(1, 2)))  # no outcome yet
