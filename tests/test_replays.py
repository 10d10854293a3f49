"""jaxzero.replays.play_game: one game with the library's players, recorded position by position (on
tic-tac-toe: it compiles in seconds; RingRift records go through the same code in scripts/play.py)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from jaxzero.games.registry import make_game
from jaxzero.nn import make_model
from jaxzero.players import random_player
from jaxzero.replays import play_game, write_game_html


def test_play_game_records_every_position():
    game = make_game("tic_tac_toe")
    seen = []
    rec = play_game(game, random_player, jax.random.PRNGKey(3), on_move=lambda t, s, a: seen.append((t, a)))
    assert len(rec.states) == len(rec.actions) + 1 == len(rec.moves) + 1
    assert 5 <= len(rec.actions) <= 9 and rec.terminated and not rec.truncated
    assert [a for _, a in seen] == rec.actions and rec.moves[0] == f"action {rec.actions[0]}"
    for s, a in zip(rec.states, rec.actions):
        assert s["legal_action_mask"][a]
    assert rec.values is None and rec.policies is None
    assert float(np.abs(rec.rewards).sum()) in (0.0, 2.0)
    with pytest.raises(ValueError, match="not one"):
        write_game_html(rec, "/tmp/never.html")


def test_play_game_with_a_net_and_cap():
    game = make_game("tic_tac_toe")
    from jaxzero.config import default_config

    cfg = default_config()
    cfg.net.num_blocks, cfg.net.channels, cfg.net.value_hidden = 1, 8, 8
    model, params = make_model(cfg.net, game, 0)
    rec = play_game(game, [random_player, random_player], jax.random.PRNGKey(0), apply_fn=model.apply,
                    params=params, max_moves=3)
    assert len(rec.actions) == 3 and len(rec.values) == len(rec.policies) == 4
    assert not rec.terminated
    for s, v, p in zip(rec.states, rec.values, rec.policies):
        assert v.shape == (2,) and np.all(np.abs(v) <= 1)
        assert p.sum() == pytest.approx(1.0, abs=1e-5) and np.all(p[~s["legal_action_mask"]] == 0)
    with pytest.raises(ValueError, match="3 players for a 2-player game"):
        play_game(game, [random_player] * 3, jax.random.PRNGKey(0))


def test_ringrift_records_read_back_as_game_records(tmp_path):
    """The golden RingRift record file (tests/golden) reads back through the engine into a GameRecord that
    the HTML replayer draws and that writes back to the same record; other games are refused."""
    from pathlib import Path

    from jaxzero.replays import append_ringrift_records, read_ringrift_records, ringrift_record

    golden = Path(__file__).resolve().parent / "golden" / "ringrift_square8_2p.records.jsonl"
    (rec,) = read_ringrift_records(golden)
    assert rec.game.id == "ringrift_square8_2p" and rec.terminated and rec.rewards.tolist() == [1.0, -1.0]
    assert len(rec.states) == len(rec.actions) + 1 == len(rec.moves) + 1 and rec.values is None
    page = write_game_html(rec, tmp_path / "g.html").read_text()
    assert page.count('class="frame"') == len(rec.states)
    path = append_ringrift_records([rec], tmp_path / "r.jsonl", origin="served", model_id="m")
    again = read_ringrift_records(path)
    assert [g.actions for g in again] == [rec.actions]
    assert ringrift_record(rec, origin="arena")["metadata"]["source"] == "tournament"
    ttt = play_game(make_game("tic_tac_toe"), random_player, jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="not one"):
        ringrift_record(ttt)


def test_play_game_compiles_nothing_on_a_second_game(caplog):
    """Issue 24: the loop plays a RingRift sample game every iteration. Its eager ``game.init`` compiled a
    fresh ``lax.while_loop`` (territory labels) on every call, each kept by JAX's primitive cache (~1.7 MiB
    of resident memory per game on square8), and the evaluator recompiled the net per game. The second
    game of the same game and network (another net's params) compiles nothing."""
    import logging

    from jaxzero.config import default_config

    game = make_game("ringrift_square8_2p")
    cfg = default_config()
    cfg.net.num_blocks, cfg.net.channels, cfg.net.value_hidden = 1, 8, 8
    model, params = make_model(cfg.net, game, 0)
    _, other = make_model(cfg.net, game, 1)
    play_game(game, random_player, jax.random.PRNGKey(0), apply_fn=model.apply, params=params, max_moves=1)
    caplog.clear()
    with caplog.at_level(logging.WARNING), jax.log_compiles():
        rec = play_game(game, random_player, jax.random.PRNGKey(1), apply_fn=model.apply, params=other, max_moves=1)
    assert len(rec.values) == 2
    compiles = [r.getMessage() for r in caplog.records if "Compiling" in r.getMessage()]
    assert compiles == []
