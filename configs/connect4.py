"""Connect four (pgx ``connect_four``): a few minutes on a 2-core CPU."""

from jaxzero.config import default_config, override


def get_config():
    return override(default_config(), {
        "game": {"name": "connect_four", "max_moves": 42},
        "arena": {"max_moves": 42},
        "selfplay": {"max_num_considered_actions": 7},
    })
