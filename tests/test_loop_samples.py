"""jaxzero.loop.samples without a RingRift compile: which games are sampled, the samples' own keys,
and the trim of records.jsonl on resume (the RingRift loop runs in tests/test_ringrift_loop.py check the
files a run leaves)."""

from __future__ import annotations

import json
import types

import jax
import numpy as np

from jaxzero.config import default_config
from jaxzero.games.registry import make_game
from jaxzero.loop.samples import is_sampled, sample_key, trim_samples, write_samples


def test_only_ringrift_games_are_sampled_and_zero_turns_it_off(tmp_path):
    cfg = default_config()
    parts = types.SimpleNamespace(game=make_game("tic_tac_toe"))
    assert not is_sampled(parts.game)
    assert write_samples(parts, cfg, tmp_path, 0, None, "init") == {}
    assert not (tmp_path / "games").exists()
    cfg.loop.sample_games = 0
    assert write_samples(types.SimpleNamespace(game=make_game("ringrift_square8_2p")), cfg, tmp_path, 0, None, "x") == {}
    assert not (tmp_path / "games").exists()


def test_sample_keys_depend_on_seed_iteration_and_game_only():
    k = [np.asarray(jax.random.key_data(sample_key(0, it, g))).tolist() for it in (0, 1) for g in (0, 1)]
    assert len({tuple(x) for x in k}) == 4
    assert np.array_equal(jax.random.key_data(sample_key(3, 5)), jax.random.key_data(sample_key(3, 5, 0)))
    run_key = jax.random.PRNGKey(0)  # the loop's own stream starts here; the samples' never meets it
    assert not np.array_equal(jax.random.key_data(sample_key(0, 0)), jax.random.key_data(run_key))


def test_trim_drops_the_records_of_replayed_iterations_and_torn_lines(tmp_path):
    games = tmp_path / "games"
    games.mkdir()
    rows = [json.dumps({"metadata": {"generation": it}}) for it in range(4)]
    (games / "records.jsonl").write_text("\n".join(rows) + '\n{"metadata": {"gener')
    assert trim_samples(tmp_path, 2) == 3
    assert [json.loads(x)["metadata"]["generation"] for x in (games / "records.jsonl").read_text().splitlines()] == [0, 1]
    assert trim_samples(tmp_path, 2) == 0 and trim_samples(tmp_path / "nowhere", 0) == 0
