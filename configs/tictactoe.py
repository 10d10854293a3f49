"""Tiny tic-tac-toe run (tests, smoke checks): learns to beat uniform random within a couple of iterations."""

from jaxzero.config import default_config, override


def get_config():
    return override(default_config(), {
        "game": {"name": "tic_tac_toe", "max_moves": 9},
        "net": {"num_blocks": 1, "channels": 16, "value_hidden": 32},
        "selfplay": {"batch_size": 64, "num_steps": 36, "chunk_steps": 9, "num_simulations": 64,
                     "max_num_considered_actions": 9, "temperature_moves": 2, "holdout_slots": 4},
        "replay": {"capacity": 4096},
        "train": {"batch_size": 128, "steps_per_iteration": 200, "warmup_steps": 10, "decay_steps": 1000},
        "arena": {"num_games": 32, "vs_random_games": 100, "opening_moves": 1, "max_moves": 9},
        "loop": {"num_iterations": 2},
    })
