"""RingRift JSON interop: GameState import, Move conversion and canonical move export."""

from __future__ import annotations

import json

import numpy as np
import pytest

from jaxzero.games.ringrift.boards import get_board
from jaxzero.games.ringrift.parity import interop, notation, traces
from jaxzero.games.ringrift.state import CAPTURE, MOVE, RulesConfig


def _state_json(**over):
    st = {
        "board": {
            "type": "square8",
            "stacks": {
                "3,3": {"position": {"x": 3, "y": 3}, "rings": [1, 2, 2], "stackHeight": 3, "capHeight": 1, "controllingPlayer": 1},
                "5,5": {"position": {"x": 5, "y": 5}, "rings": [2], "stackHeight": 1, "capHeight": 1, "controllingPlayer": 2},
            },
            "markers": {"0,0": {"player": 2, "position": {"x": 0, "y": 0}, "type": "regular"}},
            "collapsedSpaces": {"7,7": 1},
        },
        "players": [
            {"playerNumber": 1, "ringsInHand": 10, "eliminatedRings": 2, "territorySpaces": 1},
            {"playerNumber": 2, "ringsInHand": 12, "eliminatedRings": 0, "territorySpaces": 0},
        ],
        "currentPlayer": 1,
        "currentPhase": "movement",
        "gameStatus": "active",
        "moveHistory": [{"type": "place_ring", "player": 1, "to": {"x": 3, "y": 3}, "placementCount": 1}],
        "victoryThreshold": 18,
        "territoryVictoryThreshold": 33,
    }
    st.update(over)
    return st


def test_load_game_state_fields():
    cfg, st = interop.load_game_state(_state_json(), fill_mask=False)
    b = get_board("square8")
    c = b.parse_cell("3,3")
    assert cfg.board == "square8" and cfg.num_players == 2 and not cfg.swap_rule
    # TOP-first JSON [1, 2, 2] -> bottom-first [2, 2, 1]
    assert np.asarray(st.rings[c, :3]).tolist() == [2, 2, 1] and int(st.height[c]) == 3
    assert int(st.marker[b.parse_cell("0,0")]) == 2 and int(st.collapsed[b.parse_cell("7,7")]) == 1
    assert np.asarray(st.hand).tolist() == [10, 12] and np.asarray(st.elim).tolist() == [2, 0]
    assert int(st.phase) == MOVE and int(st.cur) == 0
    assert bool(st.acted)  # player 1 placed this turn
    assert int(st.victory_threshold) == 18 and int(st.territory_minimum) == 33


def test_capture_phase_attacker_and_thresholds_from_state():
    hist = [{"type": "move_stack", "player": 1, "from": {"x": 3, "y": 0}, "to": {"x": 3, "y": 3}}]
    cfg, st = interop.load_game_state(_state_json(currentPhase="capture", moveHistory=hist, victoryThreshold=28), fill_mask=False)
    assert int(st.phase) == CAPTURE and int(st.attack) == get_board("square8").parse_cell("3,3")
    assert int(st.victory_threshold) == 28


@pytest.mark.parametrize(
    "mutate,msg",
    [
        (lambda s: s["board"].update(type="square19"), "unsupported board"),
        (lambda s: s["board"]["stacks"]["3,3"].update(controllingPlayer=2), "top-first"),
        (lambda s: s["board"]["stacks"]["3,3"].update(rings=[1, 5]), "seats"),
        (lambda s: s["board"]["markers"].update({"3,3": {"player": 1}}), "both a stack and a marker"),
        (lambda s: s["board"]["stacks"].update({"9,9": {"rings": [1]}}), "not a cell"),
        (lambda s: s.update(currentPlayer=3), "currentPlayer"),
        (lambda s: s.update(currentPhase="dancing"), "currentPhase"),
        (lambda s: s.update(players=[]), "players"),
        (lambda s: s.update(currentPhase="capture", moveHistory=[]), "capture phase"),
    ],
)
def test_malformed_game_state(mutate, msg):
    st = _state_json()
    mutate(st)
    with pytest.raises(ValueError, match=msg):
        interop.load_game_state(st, fill_mask=False)


def test_load_from_path_and_cfg_check(tmp_path):
    f = tmp_path / "s.json"
    f.write_text(json.dumps(_state_json()))
    cfg, _ = interop.load_game_state(f, fill_mask=False)
    assert cfg == RulesConfig("square8", 2, swap_rule=False)
    with pytest.raises(ValueError, match="does not match"):
        interop.load_game_state(f, cfg=RulesConfig("square8", 3), fill_mask=False)


def test_move_dict_round_trip(traces_dir):
    """Every move of a trace game converts to a RingRift Move dict and back to its string."""
    g = traces.load_games(traces_dir / "square8_3p.jsonl.gz", max_games=1)[0]
    cfg = traces.game_config(g)
    prev = g["initial"]
    for s in g["steps"]:
        h = notation.host_state_from_digest(g["board"], cfg, prev)
        m = interop.string_to_move(cfg, s["move"], s["player"])
        assert interop.move_to_string(cfg, h, m) == s["move"]
        prev = s["digest"]


def test_export_moves_reproduces_trace(traces_dir):
    """A trace game replayed by action ids exports exactly the trace's move strings
    (bookkeeping included; a recovery slide and its extraction target fold back into one
    `recovery ... ext K` move), and the exported dicts carry type and player."""
    games = traces.load_games(traces_dir / "square8_2p.jsonl.gz", max_games=25)
    g = next(x for x in games if x["seed"] == 48)  # recovery with extraction at step 98
    g["steps"] = g["steps"][:100]
    cfg = traces.game_config(g)
    from jaxzero.games import ringrift

    eng = notation.engine_fns(cfg)
    st0 = ringrift.init(cfg)
    st = st0
    ids = []
    for s in g["steps"]:
        for a in notation.parse_move(cfg, st, s["move"]):
            ids.append(a)
            st = eng.apply_move(st, np.int32(a))
        assert notation.digest(cfg, st) == s["digest"]
    exported = interop.export_moves(cfg, st0, ids, as_strings=True)

    def norm(m):  # process_line and line_option ... all are the same move (one id)
        return "process_line " + m.split()[1] if m.startswith("line_option") and m.endswith(" all") else m

    assert any(m.startswith("recovery ") for m in exported)
    assert exported == [norm(s["move"]) for s in g["steps"]]
    dicts = interop.export_moves(cfg, st0, ids)
    assert all("type" in d and "player" in d for d in dicts)
