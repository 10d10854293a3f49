"""The checkpoint path of the server: a saved square8 net (untrained, saved the way the loop saves)
answers RingRift's own requests with legal moves through cli.load_best and a batched search."""

import gzip
import json

import pytest

from jaxzero import cli
from jaxzero.checkpoint import Checkpointer
from jaxzero.config import fill_defaults, to_json
from jaxzero.games.registry import make_game
from jaxzero.loop.state import initial_state
from jaxzero.nn import make_model
from jaxzero.train import make_optimizer

from tests.test_serve import legal_keys, move_key

pytestmark = pytest.mark.slow


def test_a_checkpoint_answers_ringrift_requests_legally(tmp_path, shared_dir):
    from jaxzero.serve.engine import Mover

    cfg = fill_defaults(cli.load_config("sq8:tiny"))
    game = make_game(cfg.game.name)
    model, params0 = make_model(cfg.net, game, cfg.seed)
    ckpt = Checkpointer(tmp_path / "checkpoints")
    ckpt.save(0, initial_state(params0, make_optimizer(cfg.train), cfg.seed), to_json(cfg), {"iteration": 0})
    ckpt.close()
    best = cli.load_best(tmp_path, "ringrift_square8_2p")
    mover = Mover("search", best=best, checkpoint=str(tmp_path), simulations=2, max_considered=2,
                  batch_sizes=(4,))
    with gzip.open(shared_dir / "ringrift" / "service" / "requests.jsonl.gz", "rt") as f:
        rows = [r for r in map(json.loads, f) if r["board"] == "square8" and r["num_players"] == 2][:4]
    assert rows, "no square8 2-player requests"
    items = [mover.prepare(r["request"]["game_state"], r["request"]["player_number"], r["request"].get("seed"))
             for r in rows]
    decisions = mover.decide(items)
    for row, d in zip(rows, decisions):
        assert d.error is None, d.error
        assert move_key(d.move) in legal_keys(row), (d.move, row["legal_str"])
    with pytest.raises(cli.UserError, match="trained ringrift_square8_2p, not ringrift_hex8_2p"):
        cli.load_best(tmp_path, "ringrift_hex8_2p")
