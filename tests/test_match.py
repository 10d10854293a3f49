"""Batched matches between arbitrary players."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxzero.games.registry import make_game
from jaxzero.match import play_match, random_player


def _first_legal(states, key):
    return jnp.argmax(states.legal_action_mask, axis=-1).astype(jnp.int32)


def test_random_vs_random_is_even_and_first_legal_loses():
    g = make_game("tic_tac_toe")
    r = play_match(g, random_player, random_player, jax.random.PRNGKey(0), 1000, 9)
    assert r["truncated"] == 0
    assert r["ci_low"] < 0.5 < r["ci_high"]
    # always taking the lowest free cell is exploitable only by luck; random beats it clearly less than 1
    weak = play_match(g, _first_legal, random_player, jax.random.PRNGKey(1), 1000, 9)
    strong = play_match(g, random_player, _first_legal, jax.random.PRNGKey(1), 1000, 9)
    assert abs(weak["score"] + strong["score"] - 1.0) < 0.08  # A/B exchange mirrors the score
    assert len(weak["seat_scores"]) == 2


def test_games_must_fill_seats_evenly():
    with pytest.raises(ValueError, match="multiple of num_players"):
        play_match(make_game("tic_tac_toe"), random_player, random_player, jax.random.PRNGKey(0), 3, 9)


# --- search vs search (max^n vs paranoid), 3 players, seats rotated -----------------------------


@pytest.fixture(scope="module")
def nim3_players():
    from jaxzero.match import search_player
    from jaxzero.search import SearchBudget, make_search
    from tests.test_maxn import Nim

    game = Nim(3)

    def apply_fn(params, obs):  # a fixed tiny network: logits and mover-relative values linear in the pile
        return obs @ params["W"], jnp.tanh(obs @ params["w"])

    k1, k2 = jax.random.split(jax.random.PRNGKey(0))
    params = {"W": jax.random.normal(k1, (8, 2)), "w": jax.random.normal(k2, (8, 3))}
    budget = SearchBudget(num_simulations=4, max_num_considered_actions=2, gumbel_scale=0.0)
    players = {k: search_player(make_search(k, game, apply_fn, budget), params) for k in ("maxn", "paranoid")}
    return game, players


def test_search_vs_itself_rotates_seats_over_shared_openings(nim3_players):
    game, players = nim3_players
    # The same deterministic search on every seat and one random opening move per group of 3 games:
    # the 3 games of a group are one game, with A in seat 0, 1, 2, so A's three scores are the three
    # seats' scores of that game: they sum to 1.5 (zero-sum rewards, (r + 1) / 2 per seat).
    r = play_match(game, players["maxn"], players["maxn"], jax.random.PRNGKey(3), 30, 8, chunk=4, opening_moves=1)
    per_game = np.array(r["per_game"]).reshape(10, 3)
    np.testing.assert_allclose(per_game.sum(axis=1), 1.5, atol=1e-6)
    assert r["score"] == pytest.approx(0.5) and r["truncated"] == 0 and r["games"] == 30
    # the opening differs between groups (pile 7, take 1 or 2 stones), so not every group is the same game
    assert len({tuple(row) for row in per_game}) > 1


def test_maxn_vs_paranoid_summary(nim3_players):
    game, players = nim3_players
    r = play_match(game, players["maxn"], players["paranoid"], jax.random.PRNGKey(0), 12, 8, chunk=4, opening_moves=1)
    assert r["games"] == 12 and r["truncated"] == 0 and len(r["seat_scores"]) == 3
    per_game = np.array(r["per_game"])
    assert set(np.round(per_game, 6)) <= {0.25, 1.0}  # Nim3: the winner 1, the others (-0.5 + 1) / 2
    np.testing.assert_allclose(r["seat_scores"], per_game.reshape(4, 3).mean(axis=0))
    assert 0.0 <= r["ci_low"] <= r["score"] <= r["ci_high"] <= 1.0
    assert r["win_share"] == pytest.approx(np.mean(per_game == 1.0))  # won alone; 1/3 is fair
    assert r["win_share_ci"][0] <= r["win_share"] <= r["win_share_ci"][1]


# --- one match loop: the Python-chunked and the traced form play the same games --------------------


def test_chunked_and_traced_matches_play_the_same_games_and_stop_at_max_moves():
    from jaxzero.match import play_games, players_act

    g = make_game("tic_tac_toe")
    key = jax.random.PRNGKey(5)
    # 5 decisions: tic-tac-toe ends at the earliest on decision 5 (X's third mark), so some games end
    # and the rest are cut there, also when the chunk (4) does not divide the cap
    chunked = play_match(g, random_player, _first_legal, key, 64, 5, chunk=4, opening_moves=2)
    scores, unfinished = jax.jit(
        lambda k: play_games(g, players_act(random_player, _first_legal), k, 64, 5, opening_moves=2))(key)
    np.testing.assert_array_equal(np.array(chunked["per_game"]), np.asarray(scores))
    assert chunked["truncated"] == int(np.sum(unfinished))
    assert 0 < chunked["truncated"] < 64
    assert set(np.asarray(scores)[np.asarray(unfinished)]) == {0.5}
    finished = np.asarray(scores)[~np.asarray(unfinished)]
    assert set(finished) <= {0.0, 1.0} and len(finished) > 0  # decided at move 5: a win for X
