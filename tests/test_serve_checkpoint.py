"""The checkpoint path of the server: a saved square8 net (untrained, saved the way the loop saves)
answers RingRift's own requests with legal moves through cli.load_best and a batched search, and
plays a game against itself through RingRift JSON: every position of that self-play game is
exported with `interop.dump_game_state`, posted as the contract writes it, and answered with one of
the legal moves of jaxzero's own state, field for field."""

import gzip
import json

import jax.numpy as jnp
import numpy as np
import pytest

from jaxzero import cli
from jaxzero.checkpoint import Checkpointer
from jaxzero.config import fill_defaults, to_json
from jaxzero.games.registry import make_game
from jaxzero.loop.state import initial_state
from jaxzero.nn import make_model
from jaxzero.train import make_optimizer

from tests.test_serve import _bottom_first, _norm_z, legal_keys, move_key

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A saved square8 2p net and the server's mover for it (compiled once for the module)."""
    from jaxzero.serve.engine import Mover

    tmp_path = tmp_path_factory.mktemp("served")
    cfg = fill_defaults(cli.load_config("sq8:tiny"))
    game = make_game(cfg.game.name)
    model, params0 = make_model(cfg.net, game, cfg.seed)
    ckpt = Checkpointer(tmp_path / "checkpoints")
    ckpt.save(0, initial_state(params0, make_optimizer(cfg.train), cfg.seed), to_json(cfg), {"iteration": 0})
    ckpt.close()
    best = cli.load_best(tmp_path, "ringrift_square8_2p")
    mover = Mover("search", best=best, checkpoint=str(tmp_path), simulations=2, max_considered=2,
                  batch_sizes=(4,))
    return tmp_path, best, mover


def test_a_checkpoint_answers_ringrift_requests_legally(served, shared_dir):
    tmp_path, best, mover = served
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


def test_the_served_net_plays_itself_through_ringrift_json(served):
    """Self-play through the contract: from the initial position, each engine state is exported as a
    RingRift GameState with the game's moves so far as its `moveHistory` (rings bottom-first, as the
    ai-service receives them) and asked for a move; the export reads back as the same position, the
    answer is one of the legal moves of jaxzero's own state, field for field, and is then played."""
    from jaxzero.games import ringrift
    from jaxzero.games.ringrift.parity import interop, notation
    from jaxzero.games.ringrift.state import GAME_OVER

    _, best, mover = served
    cfg = best.game.cfg
    eng = notation.engine_fns(cfg)
    state = ringrift.init(cfg)
    history, phases = [], set()
    for t in range(90):
        if int(state.phase) == GAME_OVER:
            break
        exported = interop.dump_game_state(cfg, state, game_id="selfplay", move_history=history)
        interop.check_round_trip(cfg, state, history)  # ValueError naming the fields that differ
        item = mover.prepare(_bottom_first(exported), exported["currentPlayer"], seed=t)
        (d,) = mover.decide([item])
        assert d.error is None, (t, d.error)
        legal = set()
        for a in np.nonzero(np.asarray(eng.legal_mask(state)))[0]:
            try:
                legal.add(move_key(_norm_z(interop.action_to_move(cfg, state, int(a), exported))))
            except ValueError:  # a recovery sub-decision: RingRift folds it into the slide
                pass
        assert move_key(_norm_z(d.move)) in legal, (t, exported["currentPhase"], d.move)
        phases.add(exported["currentPhase"])
        for a in interop.move_to_actions(cfg, state, d.move):
            state = eng.apply_move(state, jnp.int32(a))
        history.append(d.move)
    assert len(history) >= 60, len(history)
    assert {"ring_placement", "movement"} <= phases, phases
