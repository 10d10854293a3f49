"""The game protocol and the registry: pgx envs plug in unchanged; unknown names fail clearly."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxzero.games import registry
from jaxzero.games.protocol import Game, GameState, PgxGame
from jaxzero.games.registry import available_games, make_game, register_game


@pytest.mark.parametrize(
    "name,obs_shape,actions", [("tic_tac_toe", (3, 3, 2), 9), ("connect_four", (6, 7, 2), 7)]
)
def test_pgx_games_satisfy_protocol(name, obs_shape, actions):
    game = make_game(name)
    assert isinstance(game, Game)
    assert game.num_actions == actions and game.num_players == 2
    assert game.observation_shape == obs_shape
    state = game.init(jax.random.key(0))
    assert isinstance(state, GameState)
    assert state.rewards.shape == (2,)
    assert state.legal_action_mask.shape == (actions,)
    obs = game.observe(state)
    assert obs.shape == obs_shape
    # The mover's view: after the first move (action 0), plane 0 (the mover's pieces) is empty and
    # plane 1 (the opponent's) holds the stone just played.
    nxt = game.step(state, jnp.int32(0), jax.random.key(1))
    assert int(nxt.current_player) != int(state.current_player)
    obs = np.asarray(game.observe(nxt))
    assert obs[..., 0].sum() == 0 and obs[..., 1].sum() == 1


def test_vmapped_step_keeps_batch():
    game = make_game("tic_tac_toe")
    states = jax.vmap(game.init)(jax.random.split(jax.random.key(0), 5))
    nxt = jax.vmap(game.step)(states, jnp.arange(5), jax.random.split(jax.random.key(1), 5))
    assert jax.vmap(game.observe)(nxt).shape == (5, 3, 3, 2)
    assert bool(jnp.all(~nxt.legal_action_mask[jnp.arange(5), jnp.arange(5)]))


def test_unknown_game_is_refused_with_known_names():
    with pytest.raises(ValueError, match="unknown game 'nope'.*tic_tac_toe"):
        make_game("nope")


def test_register_game(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", {})
    register_game("ttt_alias", lambda: PgxGame(__import__("pgx").make("tic_tac_toe")))
    assert make_game("ttt_alias").num_actions == 9
    assert available_games() == ("ttt_alias",)


def test_registry_names_every_ringrift_board_and_player_count():
    from jaxzero.games.ringrift.boards import BOARD_NAMES
    from jaxzero.games.ringrift.presets import MAX_MOVES, rules_config

    ringrift = {n for n in available_games() if n.startswith("ringrift_")}
    assert ringrift == {f"ringrift_{b}_{p}p" for b in BOARD_NAMES for p in MAX_MOVES}
    game = make_game("ringrift_hex8_3p")
    assert game.id == "ringrift_hex8_3p" and game.num_players == 3
    assert game.cfg == rules_config("hex8", 3)
    assert (game.cfg.max_moves, game.cfg.swap_rule, game.cfg.auto_single) == (900, False, True)
    assert make_game("ringrift_square8_2p").cfg.swap_rule
