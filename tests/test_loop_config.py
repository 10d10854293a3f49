"""Config validation fails early with the offending key named."""

import pytest

from jaxzero.config import default_config, validate
from jaxzero.games.protocol import make_game


def test_default_and_shipped_configs_validate():
    validate(default_config(), make_game("connect_four"))


@pytest.mark.parametrize(
    "path,value,match",
    [
        ("game.name", "chess9000", "config.game.name: unknown game 'chess9000'"),
        ("net.channels", 0, "config.net.channels must be a positive integer"),
        ("selfplay.batch_size", -4, "config.selfplay.batch_size must be a positive integer"),
        ("selfplay.chunk_steps", 7, "multiple of config.selfplay.chunk_steps"),
        ("selfplay.holdout_slots", 64, "holdout_slots"),
        ("net.dtype", "float16", "config.net.dtype"),
        ("net.policy_head", "spatial?", "config.net.policy_head: unknown head"),
        ("arena.promotion_threshold", 1.5, "promotion_threshold"),
    ],
)
def test_bad_values_are_named(path, value, match):
    cfg = default_config()
    section, key = path.split(".")
    cfg[section][key] = value
    with pytest.raises(ValueError, match=match):
        validate(cfg)


def test_arena_games_must_rotate_seats_evenly():
    cfg = default_config()
    cfg.arena.num_games = 33
    with pytest.raises(ValueError, match="multiples of num_players"):
        validate(cfg, make_game("connect_four"))
