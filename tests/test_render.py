"""RingRift SVG boards and the one-file HTML replayer: well-formed output, what is drawn where, and two
golden positions (square8 2p, hex8 3p) pinned byte for byte. Host-side only: states come from digests
(no RingRift step is compiled)."""

from __future__ import annotations

import html.parser
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from jaxzero.games.ringrift import actions
from jaxzero.games.ringrift.boards import get_board
from jaxzero.games.ringrift.parity.notation import host_state_from_digest
from jaxzero.games.ringrift.render import BoardSVG, action_cells, cell_weights, render, render_svg
from jaxzero.games.ringrift.replayer import replay_html, write_replay
from jaxzero.games.ringrift.state import RulesConfig

GOLDEN = Path(__file__).parent / "golden"
SVG = "{http://www.w3.org/2000/svg}"
XHTML = "{http://www.w3.org/1999/xhtml}"

SQ8 = ("cp=2|ph=movement|gs=active|w=-|H=12/13|E=1/0|T=2/0|S=2,3:1;3,3:12;4,4:2221;5,1:1122112|"
       "M=2,4:1;3,4:2;4,3:1|C=0,0:1;0,1:1;7,7:2|mm=-|ple=0|cc=-|ca=-|tb=0|rs=0|tp=-|sw=0|L=0/-/-/-/0/-")
HEX8 = ("cp=3|ph=ring_placement|gs=active|w=-|H=17/16/18|E=0/0/0|T=0/0/0|S=0,0,0:123;1,-1,0:2|M=2,-2,0:1|"
        "C=-4,0,4:3;-4,1,3:3|mm=-|ple=0|cc=-|ca=-|tb=0|rs=0|tp=-|sw=0|L=0/-/-/-/0/-")


def sq8_state():
    return host_state_from_digest("square8", RulesConfig(board="square8", num_players=2), SQ8, move_count=23)


def hex8_state():
    return host_state_from_digest("hex8", RulesConfig(board="hex8", num_players=3), HEX8, move_count=4)


def golden_svgs():
    w = np.zeros(64)
    w[get_board("square8").index((1, 2))] = 3.0
    w[get_board("square8").index((2, 4))] = 1.0
    return {
        "square8_2p.svg": render_svg(sq8_state(), last_move="move 2,2>4,4", legal=["move 4,4>4,6", "place 6,6 x1"],
                                     weights=w, title="square8 golden"),
        "hex8_3p.svg": render_svg(hex8_state(), last_move="capture 2,-2,0x1,-1,0>0,0,0", title="hex8 golden"),
    }


@pytest.mark.parametrize("name", ["square8_2p.svg", "hex8_3p.svg"])
def test_golden_svg(name):
    """The drawing of two fixed positions does not change by accident (regenerate on purpose with
    JAXZERO_UPDATE_GOLDEN=1 and look at the result)."""
    svg = golden_svgs()[name]
    path = GOLDEN / name
    if os.environ.get("JAXZERO_UPDATE_GOLDEN"):
        path.write_text(svg)
    assert svg == path.read_text(), f"{name} differs from tests/golden/{name}"
    assert svg == golden_svgs()[name]  # deterministic within a process too


def test_svg_draws_the_position():
    """Every stack appears with its rings bottom to top, every marker and collapsed cell with its owner,
    the last move's cells are outlined, legal destinations and weights are overlaid."""
    root = ET.fromstring(golden_svgs()["square8_2p.svg"])
    assert root.tag == f"{SVG}svg"
    stacks = {g.get("data-cell"): g.get("data-rings") for g in root.iter(f"{SVG}g") if g.get("class") == "stack"}
    assert stacks == {"2,3": "1", "3,3": "12", "4,4": "2221", "5,1": "1122112"}
    tall = next(g for g in root.iter(f"{SVG}g") if g.get("data-cell") == "5,1")
    bars = [r for r in tall.iter(f"{SVG}rect")]
    colours = [r.get("fill") for r in bars]
    assert colours == ["#d62728", "#d62728", "#1f77b4", "#1f77b4", "#d62728", "#d62728", "#1f77b4"]
    ys = [float(r.get("y")) for r in bars]
    assert ys == sorted(ys, reverse=True), "the bottom ring is drawn lowest"
    assert tall.find(f"{SVG}text").text == "7"
    markers = sorted(c.get("data-owner") for c in root.iter(f"{SVG}circle") if c.get("class") == "marker")
    assert markers == ["1", "1", "2"]
    collapsed = {e.get("data-cell"): e.get("data-owner") for e in root.iter() if e.get("class") == "collapsed"}
    assert collapsed == {"0,0": "1", "0,1": "1", "7,7": "2"}
    assert len([e for e in root.iter() if e.get("class") == "last-move"]) == 2
    assert len([e for e in root.iter() if e.get("class") == "last-move-arrow"]) == 1
    assert len([e for e in root.iter() if e.get("class") == "legal"]) == 2
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "75%" in texts and "25%" in texts
    assert "to move: seat 2 (blue)" in texts


def test_hex_board_has_every_cell_and_parses():
    root = ET.fromstring(golden_svgs()["hex8_3p.svg"])
    cells = [e.get("data-cell") for e in root.iter(f"{SVG}polygon") if e.get("data-cell")]
    assert len(cells) == 61 and len(set(cells)) == 61
    assert {"0,0,0", "-4,0,4", "4,-4,0"} <= set(cells)


def test_render_wrapper_and_errors(tmp_path):
    b = render(sq8_state())
    assert isinstance(b, BoardSVG) and b._repr_svg_().startswith("<svg")
    b.save(tmp_path / "x.svg")
    ET.parse(tmp_path / "x.svg")
    with pytest.raises(ValueError, match="not a cell of square8"):
        render_svg(sq8_state(), last_move="move 2,2>9,9")
    with pytest.raises(ValueError, match="64 cells, board hex8 has 61"):
        render_svg(sq8_state(), board="hex8")
    with pytest.raises(ValueError, match="legal mask has 3 entries"):
        render_svg(sq8_state(), legal=np.ones(3, bool))


def test_action_cells_and_weights():
    """Every action points at the cell it names (placement cell, landing cell, ...): checked on
    encoders of the layout; weights per action sum onto cells."""
    b = get_board("square8")
    lay = actions.layout_for(b)
    cells = action_cells("square8")
    c = b.index((3, 4))
    assert cells[lay.place(c, 2)] == c
    d = b.directions.index((1, 0))
    assert cells[lay.ray(c, d, 2)] == b.index((5, 4))
    assert cells[lay.target(c)] == c and cells[lay.region(2, c)] == c and cells[lay.line(1, c, 1)] == c
    assert cells[lay.special(actions.SWAP)] == -1
    w = np.zeros(lay.num_actions)
    w[lay.place(c, 1)] = 0.25
    w[lay.place(c, 3)] = 0.25
    w[lay.ray(c, d, 2)] = 0.5
    per_cell = cell_weights("square8", w)
    assert per_cell[c] == 0.5 and per_cell[b.index((5, 4))] == 0.5 and per_cell.sum() == 1.0
    # a legal mask as an overlay marks the destination cells
    mask = np.zeros(lay.num_actions, bool)
    mask[lay.ray(c, d, 2)] = True
    root = ET.fromstring(render_svg(sq8_state(), legal=mask))
    assert len([e for e in root.iter() if e.get("class") == "legal"]) == 1


class _Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.count = [], [], {}

    def handle_starttag(self, tag, attrs):
        self.count[tag] = self.count.get(tag, 0) + 1
        if tag not in ("meta", "br", "img", "input"):
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.count[tag] = self.count.get(tag, 0) + 1

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)


def test_replay_html_is_one_self_contained_page(tmp_path):
    """One frame per position with its SVG, moves and the net's values / top moves beside the board;
    well-formed (parsed as XML and as HTML), no external resources, keys and buttons wired."""
    cfg = RulesConfig(board="square8", num_players=2)
    s0 = sq8_state()
    lay = actions.layout_for(get_board("square8"))
    policy = np.zeros(lay.num_actions)
    b = get_board("square8")
    policy[lay.ray(b.index((2, 3)), b.directions.index((0, 1)), 2)] = 3.0  # move 2,3>2,5
    policy[lay.ray(b.index((3, 3)), b.directions.index((1, 0)), 2)] = 1.0  # move 3,3>5,3
    states = [s0, s0, s0]
    moves = ["move 2,3>2,5", "move 3,3>5,3"]
    values = [np.array([0.25, -0.25]), np.array([0.5, -0.5]), None]
    policies = [policy, [("move 4,4>4,6", 0.7), ("move 5,1>5,3", 0.3)], None]
    path = write_replay(tmp_path / "g" / "game.html", states, moves, cfg=cfg, values=values, policies=policies,
                        title="a <test> game")
    text = path.read_text()
    root = ET.fromstring(text.split("\n", 1)[1])  # XML after the doctype line
    frames = [d for d in root.iter(f"{XHTML}div") if d.get("class") == "frame"]
    assert [f.get("id") for f in frames] == ["frame-0", "frame-1", "frame-2"]
    for f in frames:
        assert len(list(f.iter(f"{SVG}svg"))) == 1
    flat = [" ".join(" ".join(f.itertext()).split()) for f in frames]
    assert "next move: move 2,3>2,5" in flat[0] and "final position" in flat[2]
    assert "seat 1 +0.250" in flat[0] and "seat 2 -0.250" in flat[0]
    assert "move 2,3>2,5 75.0%" in flat[0] and "move 3,3>5,3 25.0%" in flat[0]
    assert "move 4,4>4,6 70.0%" in flat[1]
    assert "net value" not in flat[2]
    assert "after move 3,3>5,3" in flat[2]
    assert "a &lt;test&gt; game" in text
    assert "ArrowRight" in text and "ArrowLeft" in text and "onclick" in text
    for banned in ("http://", "https://", "src=", "<link"):
        assert banned not in text.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
            'xmlns="http://www.w3.org/1999/xhtml"', ""), banned
    tags = _Tags()
    tags.feed(text)
    assert not tags.errors and not tags.stack
    assert tags.count["svg"] == 3 and tags.count["script"] == 1


def test_replay_checks_its_input():
    s = sq8_state()
    with pytest.raises(ValueError, match="2 positions need 1 moves"):
        replay_html([s, s], ["a", "b", "c"])
    with pytest.raises(ValueError, match="values has 1 entries for 2 positions"):
        replay_html([s, s], ["move 2,3>2,5"], values=[None])
    with pytest.raises(ValueError, match="at least one position"):
        replay_html([], [])


def test_text_board_for_the_terminal():
    """The unicode board: stacks by top ring and height, markers, territory, the last move bracketed,
    stacks bottom to top and the seats' counters below; hex rows labelled by y with their x range."""
    from jaxzero.games.ringrift.render import render_text

    text = render_text(sq8_state(), last_move="move 2,2>4,4")
    rows = text.splitlines()
    assert rows[0].split() == ["x", "0", "1", "2", "3", "4", "5", "6", "7"]
    assert rows[2 + 1].split()[0] == "1" and "B7" in rows[2 + 1] and rows[2].count("▒1▒") == 1
    assert "[R4]" in rows[2 + 4] and "[ ·]" in rows[2 + 2]
    assert rows[2 + 4].split()[1:5] == ["·", "·", "r", "b"]
    assert "stacks (rings bottom to top): 2,3:1 3,3:12 4,4:2221 5,1:1122112" in text
    assert "1 red (R): hand 12 elim 1 terr 2" in text and "movement, seat 2 (blue) to move, move 23" in text
    hexrows = render_text(hex8_state()).splitlines()
    assert hexrows[0].startswith("y=-4") and hexrows[0].endswith("x 0..4") and hexrows[4].endswith("x -4..4")
    assert hexrows[4].split()[2] == "▒3▒" and "G3" in hexrows[4]
