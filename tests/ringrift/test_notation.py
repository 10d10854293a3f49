"""Digest and move-notation round trips against the reference traces (traces/FORMAT.md)."""

from __future__ import annotations

import numpy as np
import pytest

from jaxzero.games.ringrift import notation as N
from jaxzero.games.ringrift import traces as T
from jaxzero.games.ringrift.state import CHAIN, GAME_OVER, RulesConfig

FILES = [f"{b}_{p}p" for b in ("square8", "hex8") for p in (2, 3, 4)]


@pytest.fixture(scope="module")
def few_games(traces_dir):
    return {f: T.load_games(traces_dir / f"{f}.jsonl.gz", max_games=2) for f in FILES}


@pytest.mark.parametrize("name", FILES)
def test_digest_round_trip(few_games, name):
    """Every digest of the first games parses into a State that prints back identically."""
    n = 0
    for g in few_games[name]:
        cfg = T.game_config(g)
        for d in [g["initial"]] + [s["digest"] for s in g["steps"]]:
            st = N.state_from_digest(g["board"], cfg, d)
            assert N.digest(cfg, st) == d
            n += 1
    assert n > 100


def test_digest_fields_map_to_state():
    cfg = RulesConfig("square8", 3)
    d = ("cp=2|ph=chain_capture|gs=active|w=-|H=1/2/3|E=4/5/6|T=0/1/0|S=0,1:123;7,7:3|M=2,2:1|C=3,3:2|"
         "mm=7,7|ple=1|cc=0,1|ca=-|tb=1|rs=1|tp=4,4;4,5|sw=0|L=5/3/1T3F/2/1/2")
    st = N.state_from_digest("square8", cfg, d)
    b = N.get_board("square8")
    c01, c77 = b.parse_cell("0,1"), b.parse_cell("7,7")
    assert int(st.cur) == 1 and int(st.phase) == CHAIN
    assert list(np.asarray(st.rings[c01, :3])) == [1, 2, 3] and int(st.height[c01]) == 3
    assert int(st.height[c77]) == 1 and int(st.marker[b.parse_cell("2,2")]) == 1
    assert int(st.collapsed[b.parse_cell("3,3")]) == 2
    assert list(np.asarray(st.hand)) == [1, 2, 3] and list(np.asarray(st.elim)) == [4, 5, 6]
    assert int(st.must_move) == c77 and int(st.attack) == c01
    assert bool(st.pend_line) and bool(st.acted) and bool(st.turn_recovery) and bool(st.pend_terr)
    assert np.nonzero(np.asarray(st.terr_region))[0].tolist() == sorted([b.parse_cell("4,4"), b.parse_cell("4,5")])
    assert int(st.lps_round) == 5 and int(st.lps_first) == 2
    assert np.asarray(st.lps_seen).tolist() == [True, False, True]
    assert np.asarray(st.lps_actor).tolist() == [True, False, False]
    assert int(st.lps_excl) == 1 and int(st.lps_count) == 1 and int(st.lps_cons) == 1
    assert N.digest(cfg, st) == d


def test_game_over_digest_reports_winner_and_chain_position():
    cfg = RulesConfig("square8", 2)
    d = "cp=2|ph=game_over|gs=completed|w=2|H=0/0|E=7/18|T=0/0|S=0,0:2|M=|C=|mm=-|ple=0|cc=0,0|ca=-|tb=0|rs=0|tp=-|sw=0|L=0/-/-/-/0/-"
    st = N.state_from_digest("square8", cfg, d)
    assert int(st.phase) == GAME_OVER and int(st.winner) == 1 and bool(st.terminated)
    assert N.digest(cfg, st.replace(cur=st.cur * 0, acted=st.acted | True)) == d


GOOD = "cp=1|ph=movement|gs=active|w=-|H=15/18|E=0/0|T=0/0|S=4,0:111|M=|C=|mm=4,0|ple=0|cc=-|ca=-|tb=1|rs=0|tp=-|sw=0|L=0/-/-/-/0/-"


@pytest.mark.parametrize(
    "field,bad",
    [
        ("cp", GOOD.replace("cp=1", "cp=3")),
        ("ph", GOOD.replace("ph=movement", "ph=moving")),
        ("H", GOOD.replace("H=15/18", "H=15")),
        ("S", GOOD.replace("S=4,0:111", "S=4,0:131")),
        ("S", GOOD.replace("S=4,0:111", "S=9,0:1")),
        ("S", GOOD.replace("S=4,0:111", "S=4,0:111111111")),
        ("M", GOOD.replace("M=", "M=4,0:1")),
        ("mm", GOOD.replace("mm=4,0", "mm=4")),
        ("ple", GOOD.replace("ple=0", "ple=2")),
        ("ca", GOOD.replace("ca=-", "ca=4,0")),
        ("L", GOOD.replace("L=0/-/-/-/0/-", "L=0/-/-/0/-")),
        ("L", GOOD.replace("L=0/-/-/-/0/-", "L=0/-/1X/-/0/-")),
        ("tb", GOOD.replace("|tb=1", "")),
    ],
)
def test_malformed_digest_names_field(field, bad):
    cfg = RulesConfig("square8", 2)
    with pytest.raises(ValueError, match=rf"\b{field}\b"):
        N.state_from_digest("square8", cfg, bad)


def test_board_mismatch_rejected():
    with pytest.raises(ValueError, match="board"):
        N.state_from_digest("hex8", RulesConfig("square8", 2), GOOD)
