"""The engine against the reference traces (reference_compat mode): at every step the legal
set equals the trace's `legal` list and the digest after the move equals the recorded one.

Uses the notation engineer's lockstep replay (`traces.replay_file`). Fast tier: the first games
of square8 2p; slow tier: 10 games of every board / player count.
"""

from __future__ import annotations

import pytest

from jaxzero.games.ringrift import traces as T


def _replay(traces_dir, name, n):
    rep = T.replay_file(traces_dir / f"{name}.jsonl.gz", canonical=False, max_games=n, log=lambda *a, **k: None)
    firsts = {}
    for m in rep.mismatches:
        firsts.setdefault(m.seed, m.describe())
    return rep, list(firsts.values())


def test_square8_2p_first_games_replay_exactly(traces_dir):
    rep, firsts = _replay(traces_dir, "square8_2p", 2)
    assert rep.games == 2 and rep.steps > 150
    assert rep.mismatched_steps == 0, firsts[:3]
    assert rep.matched == 2


@pytest.mark.slow
@pytest.mark.parametrize("name", [f"{b}_{p}p" for b in ("square8", "hex8") for p in (2, 3, 4)])
def test_ten_games_replay_exactly(traces_dir, name):
    rep, firsts = _replay(traces_dir, name, 10)
    assert rep.games == 10
    assert rep.mismatched_steps == 0, firsts[:3]
