"""RingRift positions as SVG (square8 and hex8), for notebooks, replays and `scripts/play.py --svg`.

Host-side only: one unbatched state (a `State` or a `parity.notation.to_host` dict) is read as
numpy arrays; nothing is traced or jitted. The output is deterministic (fixed float formatting,
no generated ids), so a position always gives the same bytes (tests/golden/ pins two).

What is drawn, per cell (coordinates as in RingRift's notation: ``x,y`` / ``x,y,z``):

* collapsed territory: the cell filled with its owner's colour (hatched darker);
* a marker: a hollow circle in its owner's colour;
* a stack: one bar per ring, bottom ring lowest, in each ring's owner's colour, with the height
  written beside it (the top ring, which controls the stack, has a black outline);
* the last move: its cells outlined in gold, an arrow from its first to its last cell for
  moves, captures and slides (``last_move`` is a RingRift move string);
* optional overlays: ``legal`` (a list of move strings, or a legal-action mask ``[A]``) puts a dot
  on each destination cell; ``weights`` (per cell ``[N]``, or per action ``[A]``, summed onto the
  destination cells with `cell_weights`) shades each cell by its share and writes the percentage.

A side panel lists each seat's colour, rings in hand, eliminated rings and territory, the phase
and the seat to move. `render` wraps the SVG in `BoardSVG`, which notebooks display (`_repr_svg_`).
"""

from __future__ import annotations

import functools
import math
import re
from typing import Dict, Sequence

import numpy as np

from jaxzero.games.ringrift import actions
from jaxzero.games.ringrift.boards import Board, get_board
from jaxzero.games.ringrift.state import GAME_OVER, PHASE_NAMES, REASON_NAMES

SEAT_COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#ff9f1c")  # seats 1..4
SEAT_NAMES = ("red", "blue", "green", "orange")
_CELL_RE = re.compile(r"-?\d+(?:,-?\d+)+")
PANEL_WIDTH = 190


def _f(v: float) -> str:
    """Fixed float formatting: one decimal, no negative zero."""
    s = f"{v:.1f}"
    return "0.0" if s == "-0.0" else s


def _esc(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def host_state(state) -> Dict[str, np.ndarray]:
    """The fields of one unbatched state as numpy arrays (a dict passes through)."""
    if isinstance(state, dict):
        return {k: np.asarray(v) for k, v in state.items()}
    from jaxzero.games.ringrift.parity.notation import to_host

    return to_host(state)


def board_of(state, board: str | None = None) -> Board:
    """The board of a state: ``board`` if given (checked against the state), else from its cell count."""
    n = int(np.asarray(state["height"]).shape[-1])
    if board is not None:
        b = get_board(board)
        if b.num_cells != n:
            raise ValueError(f"state has {n} cells, board {board} has {b.num_cells}")
        return b
    for name in ("square8", "hex8"):
        if get_board(name).num_cells == n:
            return get_board(name)
    raise ValueError(f"no RingRift board has {n} cells")


# ----------------------------------------------------------------------------------------------
# geometry
# ----------------------------------------------------------------------------------------------


class _Geometry:
    """Cell centres and outlines in SVG units for one board at cell size ``size``."""

    def __init__(self, board: Board, size: float):
        self.board = board
        self.size = size
        self.hex = not board.name.startswith("square")
        margin = 28.0
        if self.hex:
            r = size / math.sqrt(3)  # circumradius of a hexagon whose flat-to-flat width is `size`
            self.radius = r
            pts = [(size * (c[0] + c[1] / 2.0), 1.5 * r * c[1]) for c in board.coords]
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            ox, oy = margin + size / 2 - min(xs), margin + r - min(ys)
            self.centres = [(x + ox, y + oy) for x, y in pts]
            self.width = max(xs) - min(xs) + size + 2 * margin
            self.height = max(ys) - min(ys) + 2 * r + 2 * margin
        else:
            xs = [c[0] for c in board.coords]
            ys = [c[1] for c in board.coords]
            self.centres = [(margin + (c[0] + 0.5) * size, margin + (c[1] + 0.5) * size) for c in board.coords]
            self.width = (max(xs) + 1) * size + 2 * margin
            self.height = (max(ys) + 1) * size + 2 * margin
            self.cols, self.rows = max(xs) + 1, max(ys) + 1
            self.margin = margin

    def outline(self, c: int, shrink: float = 0.0) -> str:
        """The SVG element of cell ``c``'s outline without its closing attributes (polygon/rect)."""
        cx, cy = self.centres[c]
        if self.hex:
            r = self.radius - shrink
            pts = []
            for k in range(6):
                a = math.radians(60 * k + 30)
                pts.append(f"{_f(cx + r * math.cos(a))},{_f(cy + r * math.sin(a))}")
            return f'<polygon points="{" ".join(pts)}"'
        h = self.size / 2 - shrink
        return f'<rect x="{_f(cx - h)}" y="{_f(cy - h)}" width="{_f(2 * h)}" height="{_f(2 * h)}"'


# ----------------------------------------------------------------------------------------------
# actions -> cells
# ----------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def action_cells(board_name: str) -> np.ndarray:
    """int32 [A]: the cell each action id points at (placement cell, a ray's landing cell, a
    line's first cell, a region's lowest cell, a target's cell), -1 for special and bookkeeping ids."""
    b = get_board(board_name)
    lay = actions.layout_for(b)
    out = -np.ones(lay.num_actions, np.int32)
    offs, n = lay.offsets, b.num_cells
    out[offs[actions.PLACE]: offs[actions.PLACE] + 3 * n] = np.repeat(np.arange(n), 3)
    out[offs[actions.RAY]: offs[actions.RAY] + b.rays.size] = b.rays.reshape(-1)
    lines = np.broadcast_to(np.arange(n)[None, :, None], (len(b.line_axes), n, 2)).reshape(-1)
    out[offs[actions.LINE]: offs[actions.LINE] + lines.size] = lines
    regions = np.tile(np.arange(n), actions.NUM_REGION_PASSES)
    out[offs[actions.REGION]: offs[actions.REGION] + regions.size] = regions
    out[offs[actions.TARGET]: offs[actions.TARGET] + n] = np.arange(n)
    out.setflags(write=False)
    return out


def cell_weights(board_name: str, action_weights) -> np.ndarray:
    """float [N]: per-action weights ``[A]`` (a policy, visit counts, a legal mask) summed onto the
    cell each action points at (`action_cells`); special and bookkeeping ids are dropped."""
    cells = action_cells(board_name)
    w = np.asarray(action_weights, np.float64).reshape(-1)
    if w.shape[0] != cells.shape[0]:
        raise ValueError(f"action weights have {w.shape[0]} entries, {board_name} has {cells.shape[0]} actions")
    keep = cells >= 0
    return np.bincount(cells[keep], weights=w[keep], minlength=get_board(board_name).num_cells)


def move_cells(board: Board, move: str) -> list[int]:
    """The cells named in a RingRift move string, in order (unknown cells are an error)."""
    out = []
    for text in _CELL_RE.findall(move):
        try:
            out.append(board.parse_cell(text))
        except ValueError as e:
            raise ValueError(f"move {move!r}: {e}") from None
    return out


# ----------------------------------------------------------------------------------------------
# the drawing
# ----------------------------------------------------------------------------------------------


def render_svg(
    state,
    *,
    board: str | None = None,
    last_move: str | None = None,
    legal=None,
    weights=None,
    title: str | None = None,
    size: float = 44.0,
    panel: bool = True,
) -> str:
    """The SVG text of one position (see the module docstring for what is drawn).

    state: a `State` or a host dict; board: "square8" / "hex8" (default: from the cell count);
    last_move: a RingRift move string to highlight; legal: move strings or a bool mask [A];
    weights: float [N] per cell or [A] per action; title: a line above the board.
    """
    s = host_state(state)
    b = board_of(s, board)
    g = _Geometry(b, float(size))
    p = int(np.asarray(s["hand"]).shape[-1])
    top = 22.0 if title else 0.0
    width = g.width + (PANEL_WIDTH if panel else 0)
    total_h = max(g.height, 60.0 + 22.0 * p + 120.0 if panel else 0.0) + top
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_f(width)}" height="{_f(total_h)}" '
        f'viewBox="0.0 0.0 {_f(width)} {_f(total_h)}" font-family="DejaVu Sans, Arial, sans-serif" '
        f'class="ringrift-board">',
        f'<rect x="0.0" y="0.0" width="{_f(width)}" height="{_f(total_h)}" fill="#ffffff"/>',
    ]
    if title:
        out.append(f'<text x="8.0" y="16.0" font-size="13" font-weight="bold">{_esc(title)}</text>')
    out.append(f'<g transform="translate(0.0,{_f(top)})">')
    out += _cells(g, b, np.asarray(s["collapsed"]).astype(int))
    out += _coordinates(g, b)
    if weights is not None:
        out += _weights(g, b, weights)
    highlight = move_cells(b, last_move) if last_move else []
    for c in sorted(set(highlight)):
        out.append(f'{g.outline(c, shrink=1.5)} fill="none" stroke="#e0a800" stroke-width="3.0" '
                   f'class="last-move"/>')
    out += _markers(g, np.asarray(s["marker"]).astype(int))
    out += _stacks(g, b, np.asarray(s["rings"]), np.asarray(s["height"]).astype(int))
    if last_move and len(highlight) >= 2 and ">" in last_move:
        out.append(_arrow(g, highlight[0], highlight[-1]))
    if legal is not None:
        out += _legal_dots(g, b, legal)
    out.append("</g>")
    if panel:
        out.extend(_panel(s, p, g.width + 6, top))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _cells(g, b, collapsed) -> list[str]:
    """Every cell's outline; collapsed territory filled and hatched in its owner's colour."""
    out = []
    for c in range(b.num_cells):
        owner = collapsed[c]
        if owner:
            col = SEAT_COLOURS[owner - 1]
            out.append(f'{g.outline(c)} fill="{col}" fill-opacity="0.55" stroke="#555555" stroke-width="1.0" '
                       f'class="collapsed" data-cell="{b.cell_str(c)}" data-owner="{owner}"/>')
            cx, cy = g.centres[c]
            h = g.size * 0.3
            out.append(f'<path d="M{_f(cx - h)},{_f(cy + h)} L{_f(cx + h)},{_f(cy - h)} M{_f(cx - h)},{_f(cy)} '
                       f'L{_f(cx)},{_f(cy - h)} M{_f(cx)},{_f(cy + h)} L{_f(cx + h)},{_f(cy)}" '
                       f'stroke="{col}" stroke-width="1.5"/>')
        else:
            out.append(f'{g.outline(c)} fill="#f4efe1" stroke="#8a8372" stroke-width="1.0" '
                       f'data-cell="{b.cell_str(c)}"/>')
    return out


def _coordinates(g, b) -> list[str]:
    """Hex cells carry their x,y,z; a square board gets column and row numbers."""
    if g.hex:
        return [f'<text x="{_f(cx)}" y="{_f(cy + g.radius * 0.78)}" font-size="7" fill="#8a8372" '
                f'text-anchor="middle">{b.cell_str(c)}</text>' for c, (cx, cy) in enumerate(g.centres[:b.num_cells])]
    out = []
    for x in range(g.cols):
        cx = g.margin + (x + 0.5) * g.size
        out.append(f'<text x="{_f(cx)}" y="{_f(g.margin - 8)}" font-size="11" fill="#555555" '
                   f'text-anchor="middle">{x}</text>')
    for y in range(g.rows):
        cy = g.margin + (y + 0.5) * g.size
        out.append(f'<text x="{_f(g.margin - 8)}" y="{_f(cy + 4)}" font-size="11" fill="#555555" '
                   f'text-anchor="end">{y}</text>')
    out.append(f'<text x="{_f(g.margin - 8)}" y="{_f(g.margin - 8)}" font-size="9" fill="#999999" '
               f'text-anchor="end">x,y</text>')
    return out


def _weights(g, b, weights) -> list[str]:
    """Per-cell weights (policy / visits) as a yellow wash and a percentage."""
    w = np.asarray(weights, np.float64).reshape(-1)
    if w.shape[0] != b.num_cells:
        w = cell_weights(b.name, w)
    total = w.sum()
    if total <= 0:
        return []
    out, share = [], w / total
    peak = share.max()
    for c in np.flatnonzero(share > 0):
        cx, cy = g.centres[c]
        opacity = 0.15 + 0.6 * share[c] / peak
        out.append(f'{g.outline(int(c), shrink=2.0)} fill="#ffd400" fill-opacity="{opacity:.2f}" '
                   f'stroke="none" class="weight"/>')
        if share[c] >= 0.01:
            out.append(f'<text x="{_f(cx)}" y="{_f(cy - g.size * 0.3)}" font-size="8" fill="#6b5500" '
                       f'text-anchor="middle">{100 * share[c]:.0f}%</text>')
    return out


def _markers(g, marker) -> list[str]:
    """A ring outline in the owner's colour per marker."""
    out = []
    for c in np.flatnonzero(marker):
        cx, cy = g.centres[c]
        out.append(f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="{_f(g.size * 0.28)}" fill="none" '
                   f'stroke="{SEAT_COLOURS[marker[c] - 1]}" stroke-width="3.5" class="marker" '
                   f'data-owner="{marker[c]}"/>')
    return out


def _stacks(g, b, rings, height) -> list[str]:
    """One bar per ring, bottom to top, the top ring outlined, the height beside the stack."""
    out, bar_w = [], g.size * 0.46
    for c in np.flatnonzero(height):
        h = int(height[c])
        cx, cy = g.centres[c]
        span = g.size * 0.7
        bar_h = min(g.size * 0.16, span / h)
        base = cy + min(span, bar_h * h) / 2
        out.append(f'<g class="stack" data-cell="{b.cell_str(c)}" data-rings="{"".join(str(int(r)) for r in rings[c, :h])}">')
        for k in range(h):
            owner = int(rings[c, k])
            y = base - (k + 1) * bar_h
            stroke = ' stroke="#000000" stroke-width="1.5"' if k == h - 1 else ' stroke="#ffffff" stroke-width="0.5"'
            out.append(f'<rect x="{_f(cx - bar_w / 2 - 4)}" y="{_f(y)}" width="{_f(bar_w)}" height="{_f(bar_h)}" '
                       f'rx="1.5" fill="{SEAT_COLOURS[owner - 1]}"{stroke}/>')
        out.append(f'<text x="{_f(cx + bar_w / 2 - 1)}" y="{_f(base)}" font-size="11" font-weight="bold" '
                   f'fill="#222222">{h}</text></g>')
    return out


def _arrow(g, start: int, end: int) -> str:
    """The last move's path from ``start`` to ``end`` with an arrow head."""
    (x1, y1), (x2, y2) = g.centres[start], g.centres[end]
    dx, dy = x2 - x1, y2 - y1
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    ex, ey = x2 - ux * g.size * 0.3, y2 - uy * g.size * 0.3
    head = g.size * 0.18
    hx1, hy1 = ex - ux * head - uy * head * 0.6, ey - uy * head + ux * head * 0.6
    hx2, hy2 = ex - ux * head + uy * head * 0.6, ey - uy * head - ux * head * 0.6
    return (f'<path d="M{_f(x1)},{_f(y1)} L{_f(ex)},{_f(ey)} M{_f(hx1)},{_f(hy1)} L{_f(ex)},{_f(ey)} '
            f'L{_f(hx2)},{_f(hy2)}" fill="none" stroke="#e0a800" stroke-width="2.5" '
            f'stroke-linecap="round" class="last-move-arrow"/>')


def _legal_dots(g, b, legal) -> list[str]:
    """A dot on each legal destination (from move strings or a bool mask over the actions)."""
    if isinstance(legal, (list, tuple)) and (not legal or isinstance(legal[0], str)):
        dests = {move_cells(b, m)[-1] for m in legal if move_cells(b, m)}
    else:
        mask = np.asarray(legal).astype(bool).reshape(-1)
        cells = action_cells(b.name)
        if mask.shape[0] != cells.shape[0]:
            raise ValueError(f"legal mask has {mask.shape[0]} entries, {b.name} has {cells.shape[0]} actions")
        dests = {int(c) for c in cells[mask] if c >= 0}
    out = []
    for c in sorted(dests):
        cx, cy = g.centres[c]
        out.append(f'<circle cx="{_f(cx + g.size * 0.3)}" cy="{_f(cy + g.size * 0.3)}" r="{_f(g.size * 0.08)}" '
                   f'fill="#111111" fill-opacity="0.55" class="legal"/>')
    return out


def _panel(s, p: int, x0: float, top: float) -> list[str]:
    phase = int(s["phase"])
    cur = int(s["cur"])
    hand, elim, terr = (np.asarray(s[k]).astype(int) for k in ("hand", "elim", "terr"))
    y = top + 24.0
    cols = (("hand", 62.0), ("elim", 104.0), ("terr", 146.0))
    out = ['<g class="panel">', f'<text x="{_f(x0)}" y="{_f(y)}" font-size="11" fill="#555555">seat</text>']
    out += [f'<text x="{_f(x0 + cx)}" y="{_f(y)}" font-size="11" fill="#555555" text-anchor="end">{name}</text>'
            for name, cx in cols]
    for i in range(p):
        y += 22.0
        out.append(f'<rect x="{_f(x0)}" y="{_f(y - 11)}" width="14.0" height="14.0" rx="3.0" fill="{SEAT_COLOURS[i]}"/>')
        out.append(f'<text x="{_f(x0 + 18)}" y="{_f(y)}" font-size="12">{i + 1}</text>')
        for (_, cx), v in zip(cols, (hand[i], elim[i], terr[i])):
            out.append(f'<text x="{_f(x0 + cx)}" y="{_f(y)}" font-size="12" text-anchor="end">{v}</text>')
        if cur == i and phase != GAME_OVER:
            out.append(f'<text x="{_f(x0 + 154)}" y="{_f(y)}" font-size="12">◀</text>')
    y += 28.0
    out.append(f'<text x="{_f(x0)}" y="{_f(y)}" font-size="11">{_esc(PHASE_NAMES[phase])}</text>')
    y += 16.0
    if phase == GAME_OVER:
        winner = int(s["winner"])
        reason = int(s["reason"]) if "reason" in s else 0
        who = f"seat {winner + 1} ({SEAT_NAMES[winner]}) wins" if winner >= 0 else "no winner"
        out.append(f'<text x="{_f(x0)}" y="{_f(y)}" font-size="11" font-weight="bold">{who}</text>')
        if reason:
            y += 16.0
            out.append(f'<text x="{_f(x0)}" y="{_f(y)}" font-size="10">{_esc(REASON_NAMES[reason])}</text>')
    else:
        out.append(f'<text x="{_f(x0)}" y="{_f(y)}" font-size="11">to move: seat {cur + 1} ({SEAT_NAMES[cur]})</text>')
    y += 16.0
    out.append(f'<text x="{_f(x0)}" y="{_f(y)}" font-size="10" fill="#555555">move {int(s["move_count"])}</text>')
    if bool(s.get("swapped", False)):
        y += 14.0
        out.append(f'<text x="{_f(x0)}" y="{_f(y)}" font-size="10" fill="#555555">players swapped seats</text>')
    out.append("</g>")
    return out


class BoardSVG:
    """An SVG drawing of a position: notebooks show it (`_repr_svg_`); `save(path)` writes it."""

    def __init__(self, svg: str):
        self.svg = svg

    def _repr_svg_(self) -> str:
        return self.svg

    def __str__(self) -> str:
        return self.svg

    def save(self, path) -> "BoardSVG":
        from pathlib import Path

        Path(path).write_text(self.svg)
        return self


def render(state, **kwargs) -> BoardSVG:
    """`render_svg` wrapped for notebooks (same arguments)."""
    return BoardSVG(render_svg(state, **kwargs))


def legal_move_strings(cfg, state, mask=None) -> Sequence[str]:
    """The sorted RingRift strings of a state's legal moves (its own legal mask by default)."""
    from jaxzero.games.ringrift.parity.notation import legal_moves

    s = host_state(state)
    return legal_moves(cfg, s, s["legal_action_mask"] if mask is None else mask)


# ----------------------------------------------------------------------------------------------
# the terminal drawing
# ----------------------------------------------------------------------------------------------

SEAT_LETTERS = "RBGO"  # red, blue, green, orange: seats 1..4, as in the SVG


def _cell_text(s, c: int) -> str:
    h = int(s["height"][c])
    if h:
        return f"{SEAT_LETTERS[int(s['rings'][c, h - 1]) - 1]}{h} "
    if int(s["collapsed"][c]):
        return f"▒{int(s['collapsed'][c])}▒"
    if int(s["marker"][c]):
        return f" {SEAT_LETTERS[int(s['marker'][c]) - 1].lower()} "
    return " · "


def render_text(state, *, board: str | None = None, last_move: str | None = None) -> str:
    """The position as unicode text for a terminal, coordinates as in RingRift's notation.

    A stack shows its top ring's seat letter and its height (``B3``: a stack of 3 controlled by
    blue), a marker a lower-case letter (``r``), collapsed territory ``▒1▒`` (seat 1's); the cells of
    ``last_move`` are bracketed. square8: columns x, rows y (cell ``x,y``); hex8: one line per y,
    each starting at its lowest x (cell ``x,y,z`` with z = -x-y). Below the board: every stack's
    rings bottom to top, and each seat's rings in hand, eliminated rings and territory.
    """
    s = host_state(state)
    b = board_of(s, board)
    hot = set(move_cells(b, last_move)) if last_move else set()

    def cell(c: int) -> str:
        t = _cell_text(s, c)
        return f"[{t[:2]}]" if c in hot else f" {t}"

    lines = []
    if b.name.startswith("square"):
        size = max(x for x, _ in b.coords) + 1
        lines.append("  x " + "".join(f"  {x} " for x in range(size)))
        lines.append("y")
        for y in range(size):
            lines.append(f"{y:>2}  " + "".join(cell(b.index((x, y))) for x in range(size)))
    else:
        r = max(abs(v) for c in b.coords for v in c)
        for y in range(-r, r + 1):
            xs = [x for x in range(-r, r + 1) if abs(-x - y) <= r]
            row = "".join(cell(b.index((x, y, -x - y))) for x in xs)
            lines.append(f"y={y:>2} " + "  " * abs(y) + row + "  " * abs(y) + f"   x {xs[0]}..{xs[-1]}")
    stacks = [f"{b.cell_str(c)}:{''.join(str(int(v)) for v in s['rings'][c, :int(s['height'][c])])}"
              for c in np.flatnonzero(s["height"])]
    lines.append("")
    lines.append("stacks (rings bottom to top): " + (" ".join(stacks) if stacks else "none"))
    hand, elim, terr = (np.asarray(s[k]).astype(int) for k in ("hand", "elim", "terr"))
    seats = "  ".join(f"{i + 1} {SEAT_NAMES[i]} ({SEAT_LETTERS[i]}): hand {hand[i]} elim {elim[i]} terr {terr[i]}"
                      for i in range(len(hand)))
    lines.append("seats: " + seats)
    phase = int(s["phase"])
    if phase == GAME_OVER:
        w = int(s["winner"])
        lines.append(f"game over: {'seat ' + str(w + 1) + ' (' + SEAT_NAMES[w] + ') wins' if w >= 0 else 'no winner'}")
    else:
        cur = int(s["cur"])
        lines.append(f"{PHASE_NAMES[phase]}, seat {cur + 1} ({SEAT_NAMES[cur]}) to move, move {int(s['move_count'])}")
    return "\n".join(lines)
