"""Config validation fails early with the offending key named."""

import pytest

from jaxzero.config import default_config, validate
from jaxzero.games.registry import make_game


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
        ("net.policy_head", "spatial?", "config.net.policy_head: unknown policy head"),
        ("arena.promotion_threshold", 1.5, "promotion_threshold"),
        ("arena.eval_simulations", -1, "config.arena.eval_simulations must be >= 0"),
        ("selfplay.full_search_prob", 0.0, "config.selfplay.full_search_prob must be in"),
        ("selfplay.fast_simulations", 0, "selfplay.fast_simulations"),  # checked only when the cap is on
        ("loop.sample_games", -1, "config.loop.sample_games must be a non-negative integer"),
        ("train.search_policy_weight", -0.5, "config.train.search_policy_weight must be >= 0"),
        ("train.value_loss_weight", -1.0, "config.train.value_loss_weight must be >= 0"),
        ("train.value_q_weight", 1.5, "config.train.value_q_weight must be in"),
        ("selfplay.prior_value_weight", 1.5, "config.selfplay.prior_value_weight must be in"),
        ("selfplay.prior_value_scale", 0.0, "config.selfplay.prior_value_scale must be > 0"),
        ("selfplay.prior_value_decay_iterations", -2, "config.selfplay.prior_value_decay_iterations"),
    ],
)
def test_bad_values_are_named(path, value, match):
    cfg = default_config()
    section, key = path.split(".")
    cfg[section][key] = value
    if path == "selfplay.fast_simulations":
        validate(cfg)  # playout-cap randomisation off: the fast budget is unused
        cfg.selfplay.full_search_prob = 0.25
    with pytest.raises(ValueError, match=match):
        validate(cfg)


def test_arena_games_must_rotate_seats_evenly():
    cfg = default_config()
    cfg.arena.num_games = 33
    with pytest.raises(ValueError, match="multiples of num_players"):
        validate(cfg, make_game("connect_four"))


@pytest.mark.parametrize(
    "path,value,match",
    [
        ("mix.heuristic_share", 1.5, "config.mix.heuristic_share must be in"),
        ("mix.heuristic_seats", "two", "config.mix.heuristic_seats"),
        ("selfplay.policy_target", "visits", "config.selfplay.policy_target: policy target must be one of"),
        ("arena.gate", "sprt?", "config.arena.gate"),
        ("heuristic.player", "oracle", "config.heuristic.player: unknown heuristic"),
        ("elo.recent_bests", -1, "config.elo.recent_bests"),
    ],
)
def test_bad_issue7_values_are_named(path, value, match):
    cfg = default_config()
    section, key = path.split(".")
    cfg[section][key] = value
    with pytest.raises(ValueError, match=match):
        validate(cfg)


def test_mixing_needs_a_heuristic_and_share_schedule_decays():
    from jaxzero.config import heuristic_share

    cfg = default_config()
    cfg.mix.heuristic_share = 0.25
    cfg.heuristic.player = "none"
    with pytest.raises(ValueError, match="needs a heuristic"):
        validate(cfg)
    cfg.heuristic.player = "auto"
    validate(cfg, make_game("connect_four"))  # the generic greedy player serves games without a heuristic
    assert heuristic_share(cfg, 0) == heuristic_share(cfg, 99) == 0.25  # constant by default
    cfg.mix.decay_iterations = 10
    assert [round(heuristic_share(cfg, i), 4) for i in (0, 5, 10, 20)] == [0.25, 0.125, 0.0, 0.0]
    cfg.elo.heuristic_games = 33
    with pytest.raises(ValueError, match="config.elo.heuristic_games"):
        validate(cfg, make_game("connect_four"))


def test_configs_saved_before_new_fields_get_defaults():
    import ml_collections

    from jaxzero.config import fill_defaults, to_json

    old = to_json(default_config())
    for section in ("mix", "elo", "rollback", "heuristic", "debug"):
        del old[section]
    del old["arena"]["gate"]
    cfg = fill_defaults(ml_collections.ConfigDict(old))
    assert cfg.mix.heuristic_share == 0.0 and cfg.arena.gate == "lcb" and cfg.debug.poison_iteration == -1
    validate(cfg)


@pytest.mark.parametrize(
    "values,match",
    [
        ({"num_steps": 20, "train_steps": 10}, r"config.bootstrap.num_steps \(20\) must be a multiple of"),
        ({"num_steps": 32, "train_steps": 0}, "needs bootstrap.train_steps > 0"),
        ({"num_steps": 0, "train_steps": 10}, "needs bootstrap.num_steps > 0"),
        ({"num_steps": 32, "train_steps": 10, "holdout_slots": 256}, "config.bootstrap.holdout_slots"),
        ({"num_steps": -16}, "config.bootstrap.num_steps and train_steps must be >= 0"),
        ({"batch_size": 0}, "config.bootstrap.batch_size must be a positive integer"),
    ],
)
def test_bad_bootstrap_values_are_named(values, match):
    cfg = default_config()
    cfg.bootstrap.update(values)
    with pytest.raises(ValueError, match=match):
        validate(cfg)


def test_bootstrap_needs_a_heuristic():
    cfg = default_config()
    cfg.bootstrap.num_steps, cfg.bootstrap.train_steps = 32, 10
    validate(cfg)
    cfg.heuristic.player = "none"
    with pytest.raises(ValueError, match="config.bootstrap.num_steps > 0 needs a heuristic"):
        validate(cfg)


def test_a_heuristic_policy_target_needs_a_game_with_one():
    cfg = default_config()
    cfg.bootstrap.num_steps, cfg.bootstrap.train_steps = 32, 10
    cfg.bootstrap.policy_temperature = 0.02
    validate(cfg)  # without a game: nothing to ask
    with pytest.raises(ValueError, match="policy_temperature >= 0 needs a game with a heuristic policy"):
        validate(cfg, make_game("connect_four"))


def test_a_value_prior_needs_a_hand_written_evaluation_and_its_weight_fades():
    from jaxzero.config import prior_value_weight

    cfg = default_config()
    cfg.selfplay.prior_value_weight = 0.5
    with pytest.raises(ValueError, match="heuristic_values.*connect_four has none"):
        validate(cfg, make_game("connect_four"))
    validate(cfg, make_game("ringrift_square8_2p"))
    assert prior_value_weight(cfg, 0) == prior_value_weight(cfg, 50) == 0.5  # constant by default
    cfg.selfplay.prior_value_decay_iterations = 4
    assert [prior_value_weight(cfg, i) for i in (0, 2, 4, 9)] == [0.5, 0.25, 0.0, 0.0]
