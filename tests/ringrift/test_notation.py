"""Digest and move-notation round trips against the reference traces (traces/FORMAT.md)."""

from __future__ import annotations

import numpy as np
import pytest

from jaxzero.games.ringrift import actions
from jaxzero.games.ringrift.boards import get_board
from jaxzero.games.ringrift.parity import notation, traces
from jaxzero.games.ringrift.state import CHAIN, GAME_OVER, RulesConfig

FILES = [f"{b}_{p}p" for b in ("square8", "hex8") for p in (2, 3, 4)]


@pytest.fixture(scope="module")
def few_games(traces_dir):
    return {f: traces.load_games(traces_dir / f"{f}.jsonl.gz", max_games=2) for f in FILES}


@pytest.mark.parametrize("name", FILES)
def test_digest_round_trip(few_games, name):
    """Every digest of the first games parses into a state that prints back identically
    (host path for all, the device State for every 10th)."""
    n = 0
    for g in few_games[name]:
        cfg = traces.game_config(g)
        for i, d in enumerate([g["initial"]] + [s["digest"] for s in g["steps"]]):
            h = notation.host_state_from_digest(g["board"], cfg, d)
            assert notation.digest(cfg, h) == d
            if i % 10 == 0:
                assert notation.digest(cfg, notation.state_from_digest(g["board"], cfg, d)) == d
            n += 1
    assert n > 100


@pytest.mark.parametrize("name", FILES)
def test_move_strings_round_trip(few_games, name):
    """Every legal reference move of the first games encodes to an action id whose
    strings contain it, and the ids of a step's legal list print back to exactly that
    list (process_line/line_option-all pairs, recovery prefixes, territory regions)."""
    lay = actions.layout_for(get_board(name.split("_")[0]))
    for g in few_games[name]:
        cfg = traces.game_config(g)
        prev = g["initial"]
        for s in g["steps"]:
            st = notation.host_state_from_digest(g["board"], cfg, prev)
            mask = np.zeros(lay.num_actions, bool)
            for m in s["legal"]:
                a = notation.encode_move(cfg, st, m)
                assert notation.compare_key(m) in [notation.compare_key(x) for x in notation.action_to_moves(cfg, st, a)], m
                mask[a] = True
            assert notation.legal_moves(cfg, st, mask) == sorted({notation.compare_key(m) for m in s["legal"]})
            prev = s["digest"]


def test_line_action_maps_to_both_reference_strings():
    cfg = RulesConfig("square8", 2)
    d = GOOD.replace("M=", "M=0,0:1;1,0:1;2,0:1;3,0:1").replace("ph=movement", "ph=line_processing")
    st = notation.host_state_from_digest("square8", cfg, d)
    lay = actions.layout_for(get_board("square8"))
    a = lay.line(0, get_board("square8").parse_cell("0,0"), 0)
    assert notation.action_to_moves(cfg, st, a) == ["process_line 0,0;1,0;2,0;3,0", "line_option 0,0;1,0;2,0;3,0 all"]
    assert notation.encode_move(cfg, st, "line_option 0,0;1,0;2,0;3,0 all") == a


@pytest.mark.parametrize(
    "bad,why",
    [
        ("place 0,0 x4", "malformed"),
        ("place 9,9 x1", "not a cell"),
        ("move 0,0>1,2", "straight ray"),
        ("teleport 0,0", "malformed"),
        ("recovery 0,0>0,2 fallback ext -", "adjacent"),
        ("process_line 0,0;1,1;3,3", "line"),
    ],
)
def test_malformed_moves_rejected(bad, why):
    cfg = RulesConfig("square8", 2)
    st = notation.host_state_from_digest("square8", cfg, GOOD)
    with pytest.raises(ValueError, match=why):
        notation.encode_move(cfg, st, bad)


def test_illegal_move_rejected():
    cfg = RulesConfig("square8", 2)
    st = notation.host_state_from_digest("square8", cfg, GOOD)
    lay = actions.layout_for(get_board("square8"))
    mask = np.zeros(lay.num_actions, bool)
    mask[notation.encode_move(cfg, st, "move 4,0>4,5")] = True
    mm = notation.legal_move_map(cfg, st, mask)
    assert notation.parse_move_first(cfg, st, "move 4,0>4,5", mm) == (notation.encode_move(cfg, st, "move 4,0>4,5"), [])
    with pytest.raises(ValueError, match="not legal"):
        notation.parse_move_first(cfg, st, "move 4,0>4,6", mm)


def test_digest_fields_map_to_state():
    cfg = RulesConfig("square8", 3)
    d = ("cp=2|ph=chain_capture|gs=active|w=-|H=1/2/3|E=4/5/6|T=0/1/0|S=0,1:123;7,7:3|M=2,2:1|C=3,3:2|"
         "mm=7,7|ple=1|cc=0,1|ca=-|tb=1|rs=1|tp=4,4;4,5|sw=0|L=5/3/1T3F/2/1/2")
    st = notation.state_from_digest("square8", cfg, d)
    b = get_board("square8")
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
    assert notation.digest(cfg, st) == d


def test_game_over_digest_reports_winner_and_chain_position():
    cfg = RulesConfig("square8", 2)
    d = "cp=2|ph=game_over|gs=completed|w=2|H=0/0|E=7/18|T=0/0|S=0,0:2|M=|C=|mm=-|ple=0|cc=0,0|ca=-|tb=0|rs=0|tp=-|sw=0|L=0/-/-/-/0/-"
    st = notation.state_from_digest("square8", cfg, d)
    assert int(st.phase) == GAME_OVER and int(st.winner) == 1 and bool(st.terminated)
    assert notation.digest(cfg, st.replace(cur=st.cur * 0, acted=st.acted | True)) == d


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
        notation.state_from_digest("square8", cfg, bad)


def test_board_mismatch_rejected():
    with pytest.raises(ValueError, match="board"):
        notation.state_from_digest("hex8", RulesConfig("square8", 2), GOOD)
