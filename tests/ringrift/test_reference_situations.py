"""Three situations that differed from the reference engine outside the public traces
(issue 20), each built from a digest string and checked on reference move strings and
digest fields:

1. a move that ends the game must not leave a chain-capture position (`cc`) behind unless a
   capture chain continues (hex8_2p seed 124 keeps it; a `move_stack` never sets it);
2. the host's forced elimination without a choice (F1) names the first stack in the
   reference's stack-dictionary order, i.e. creation order, not cell order (compat mode);
   canonical mode offers every controlled stack (R206);
3. a recovery stack-strike's extraction candidates are fixed before the strike (R113/R115):
   the struck stack stays one when the strike exposes the mover's ring, which is extracted.

The engines are `notation.engine_fns` (one compile per config, shared with the other tests);
the square8 cases run in the fast tier, the hex8 ones (two more configs to compile) are slow.
"""

from __future__ import annotations

import numpy as np
import pytest

from jaxzero.games.ringrift.boards import get_board
from jaxzero.games.ringrift.parity import notation
from jaxzero.games.ringrift.state import FORCED_ELIM, RulesConfig

SQ = ("0,0", "1,0", "2,0", "3,0", "4,0")
HX = ("0,0,0", "1,0,-1", "2,0,-2", "3,0,-3", "4,0,-4")

BOARDS = [
    pytest.param("square8", SQ, id="square8"),
    pytest.param("hex8", HX, id="hex8", marks=pytest.mark.slow),
]


def _digest(p, S, M="", cp=1, ph="movement", H=None, E=None, L="0/-/-/-/0/-"):
    H = H or "/".join(["5"] * p)
    E = E or "/".join(["0"] * p)
    T = "/".join(["0"] * p)
    return (f"cp={cp}|ph={ph}|gs=active|w=-|H={H}|E={E}|T={T}|S={S}|M={M}|C=|mm=-|ple=0|cc=-|ca=-|"
            f"tb=0|rs=0|tp=-|sw=0|L={L}")


def _legal(cfg, st):
    return notation.legal_moves(cfg, st, notation.engine_fns(cfg).legal_mask(st))


def _play(cfg, st, move):
    """Applies one reference move string (its sub-decisions included)."""
    eng = notation.engine_fns(cfg)
    for a in notation.parse_move(cfg, st, move):
        st = eng.apply_move(st, np.int32(a))
    return st


# ---------------------------------------------------------------------------------------
# 1. chain-capture position when a move ends the game (compat: victory after every move)
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("board,c", BOARDS)
@pytest.mark.parametrize(
    "case",
    [
        # move_stack onto a marker: the 18th elimination; a capture exists from the landing
        ("{0}:11;{3}:2", "{2}:2", "move {0}>{2}", "{2}:1;{3}:2", "{0}:1", "-"),
        # first capture landing on a marker, the chain could continue: the reference keeps it
        ("{0}:11;{1}:2;{3}:2", "{2}:2", "capture {0}x{1}>{2}", "{2}:21;{3}:2", "{0}:1", "{2}"),
        # first capture landing on a marker, no continuation: chain state cleared
        ("{0}:11;{1}:2", "{2}:2", "capture {0}x{1}>{2}", "{2}:21", "{0}:1", "-"),
    ],
    ids=["move_stack", "capture_chain_continues", "capture_chain_ends"],
)
def test_game_ending_move_chain_position(board, c, case):
    cfg = RulesConfig(board, 2, reference_compat=True)
    S, M, move, S2, M2, cc = (x.format(*c) for x in case)
    st = notation.state_from_digest(board, cfg, _digest(2, S, M, H="16/0", E="17/0"))
    after = _play(cfg, st, move)
    d = notation.split_digest(notation.digest(cfg, after))
    assert (d["ph"], d["gs"], d["w"], d["cp"], d["E"]) == ("game_over", "completed", "1", "1", "18/0")
    assert (d["S"], d["M"], d["mm"], d["ca"], d["tb"]) == (S2, M2, "-", "-", "0")
    assert d["cc"] == cc


# ---------------------------------------------------------------------------------------
# 2. F1: the single bookkeeping forced elimination names the oldest stack (compat)
# ---------------------------------------------------------------------------------------


def _fe_after_move(cfg, S, move):
    """Seat 1 (rings in hand, so the reference's FE enumerator is empty: F1) plays `move`,
    then the state is put into its forced_elimination phase with no action this turn, as
    after a permissive skip_placement (FORMAT.md); creation history is kept."""
    p = cfg.num_players
    st = notation.state_from_digest(cfg.board, cfg, _digest(p, S))
    h = notation.to_host(_play(cfg, st, move))
    h.update(cur=np.int32(0), phase=np.int32(FORCED_ELIM), acted=np.bool_(False), must_move=np.int32(-1),
             attack=np.int32(-1))
    return notation.from_host(cfg, h)


F1_CASES = [
    # the stack re-created at 0,1 is younger than 5,5 although its cell comes first
    pytest.param("square8", 2, "0,0:1;5,5:1;7,7:2", "move 0,0>0,1", ["0,1", "5,5"], "5,5", id="square8_2p"),
    pytest.param("hex8", 4, "-4,0,4:1;0,0,0:1;2,0,-2:2;3,0,-3:3;4,0,-4:4", "move -4,0,4>-4,1,3",
                 ["-4,1,3", "0,0,0"], "0,0,0", id="hex8_4p", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("board,p,S,move,controlled,oldest", F1_CASES)
def test_forced_elimination_without_choice_follows_creation_order(board, p, S, move, controlled, oldest):
    cfg = RulesConfig(board, p, reference_compat=True)
    st = _fe_after_move(cfg, S, move)
    assert _legal(cfg, st) == [f"forced_elim {oldest}"]
    d = notation.split_digest(notation.digest(cfg, _play(cfg, st, f"forced_elim {oldest}")))
    assert f"{oldest}:" not in d["S"] and d["cp"] == "2" and d["ph"] == "ring_placement"


def test_forced_elimination_canonical_offers_every_stack():
    cfg = RulesConfig("square8", 2)
    st = _fe_after_move(cfg, "0,0:1;5,5:1;7,7:2", "move 0,0>0,1")
    assert _legal(cfg, st) == ["forced_elim 0,1", "forced_elim 5,5"]


def test_creation_order_placement_and_move():
    """Placing on an existing stack keeps its age; a move's landing is a new stack."""
    cfg = RulesConfig("square8", 2, reference_compat=True)
    b = get_board("square8")
    st = notation.state_from_digest("square8", cfg, _digest(2, "0,0:1;2,2:1;7,7:2", ph="ring_placement"))
    st = _play(cfg, st, "place 0,0 x1")
    assert np.asarray(st.born).max() == 0
    st = _play(cfg, st, "move 0,0>0,2")
    born = np.asarray(st.born)
    assert born[b.parse_cell("0,2")] == 2 and born[b.parse_cell("2,2")] == 0


# ---------------------------------------------------------------------------------------
# 3. recovery stack-strike whose extraction stack is the struck stack
# ---------------------------------------------------------------------------------------

STRIKE = "cp=2|ph=movement|gs=active|w=-|H=0/1|E=3/3|T=0/0|S={S}|M=2,6:2|C=|mm=-|ple=0|cc=-|ca=-|tb=0|rs=0|tp=-|sw=0|L=0/-/-/-/0/-"


@pytest.mark.parametrize("compat", [True, False], ids=["compat", "canonical"])
@pytest.mark.parametrize(
    "S,exts,ext,S2",
    [
        # issue example: 2,7 = 1112 after the strike (seat 2's ring exposed), still a candidate
        ("1,7:21;2,7:11121;4,5:21;6,0:1", ["1,7", "2,7", "4,5"], "2,7", "1,7:21;2,7:111;4,5:21;6,0:1"),
        ("1,7:21;2,7:11121;4,5:21;6,0:1", ["1,7", "2,7", "4,5"], "4,5", "1,7:21;2,7:1112;4,5:1;6,0:1"),
        # the struck stack holds the seat's only buried ring: the cost is still paid from it
        ("2,7:11121;6,0:1", ["2,7"], "2,7", "2,7:111;6,0:1"),
    ],
    ids=["struck_stack", "other_stack", "only_struck_stack"],
)
def test_stack_strike_extraction_candidates_before_strike(compat, S, exts, ext, S2):
    cfg = RulesConfig("square8", 2, reference_compat=compat)
    st = notation.state_from_digest("square8", cfg, STRIKE.format(S=S))
    assert "recovery 2,6>2,7 stack_strike" in _legal(cfg, st)
    slide = notation.parse_move(cfg, st, "recovery 2,6>2,7 stack_strike ext -")[0]
    mid = notation.engine_fns(cfg).apply_move(st, np.int32(slide))
    assert _legal(cfg, mid) == [f"ext {e}" for e in exts]
    after = _play(cfg, st, f"recovery 2,6>2,7 stack_strike ext {ext}")
    want = (f"cp=2|ph=line_processing|gs=active|w=-|H=0/1|E=3/5|T=0/0|S={S2}|M=|C=|mm=-|ple=0|cc=-|"
            "ca=-|tb=1|rs=1|tp=-|sw=0|L=0/-/-/-/0/-")
    assert notation.digest(cfg, after) == want
