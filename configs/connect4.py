"""Connect four (pgx ``connect_four``): the default `make train` run, sized for a 2-core CPU."""

from jaxzero.config import default_config


def get_config():
    c = default_config()
    c.game.name = "connect_four"
    c.game.max_moves = 42
    c.arena.max_moves = 42
    c.selfplay.max_num_considered_actions = 7
    return c
