"""Tiny tic-tac-toe run (tests, smoke checks): learns to beat uniform random within a couple of iterations."""

from jaxzero.config import default_config


def get_config():
    c = default_config()
    c.game.name = "tic_tac_toe"
    c.game.max_moves = 9
    c.net.num_blocks = 1
    c.net.channels = 16
    c.net.value_hidden = 32
    c.selfplay.batch_size = 64
    c.selfplay.num_steps = 36
    c.selfplay.chunk_steps = 9
    c.selfplay.num_simulations = 64
    c.selfplay.max_num_considered_actions = 9
    c.selfplay.temperature_moves = 2
    c.selfplay.holdout_slots = 4
    c.replay.capacity = 4096
    c.train.batch_size = 128
    c.train.steps_per_iteration = 200
    c.train.warmup_steps = 10
    c.train.decay_steps = 1000
    c.arena.num_games = 32
    c.arena.vs_random_games = 100
    c.arena.opening_moves = 1
    c.arena.max_moves = 9
    c.loop.num_iterations = 2
    return c
