"""A RingRift game as ONE self-contained HTML file: every position's SVG embedded, stepped with the
←/→ keys (Home/End for the ends) or buttons, and beside the board the net's value per seat and its
top moves with their probabilities when they are given. No server, no network, no external file:
open it in a browser.

Input: ``states`` (positions 0..T, `State`s or host dicts), ``moves`` (the RingRift move string
played in position t, for t < T; a final position has none), and optionally per position
``values`` (float [P], one per seat, +1 = that seat wins) and ``policies`` (either a list of
``(move string, probability)`` pairs, or an action-probability vector [A], whose top moves are named
with `parity.notation.action_to_moves` and drawn on the board by destination cell).

The page is well-formed XML (XHTML served as HTML), so tests parse it with ElementTree; the script
avoids ``<`` and ``&`` for that reason. Host-side only (numpy); `jaxzero.replays.play_game` plays a
game with the library's players and returns these lists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from jaxzero.games.ringrift.render import SEAT_COLOURS, _esc, board_of, host_state, render_svg
from jaxzero.games.ringrift.state import RulesConfig

TOP_K = 5

_SCRIPT = """
var frames = document.getElementsByClassName('frame');
var index = 0;
function show(i) {
  i = Math.max(0, Math.min(frames.length - 1, i));
  frames[index].style.display = 'none';
  frames[i].style.display = 'block';
  index = i;
  document.getElementById('counter').textContent = 'position ' + i + ' / ' + (frames.length - 1);
}
document.addEventListener('keydown', function (e) {
  if (e.key === 'ArrowRight') { show(index + 1); e.preventDefault(); }
  if (e.key === 'ArrowLeft') { show(index - 1); e.preventDefault(); }
  if (e.key === 'Home') { show(0); }
  if (e.key === 'End') { show(frames.length - 1); }
});
show(0);
"""

_STYLE = """
body { font-family: DejaVu Sans, Arial, sans-serif; margin: 16px; color: #222; }
.frame { display: none; }
.row { display: flex; gap: 24px; align-items: flex-start; }
.side { min-width: 240px; font-size: 14px; }
.side table { border-collapse: collapse; }
.side td { padding: 2px 8px 2px 0; }
.bar { display: inline-block; height: 10px; background: #e0a800; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 3px; }
button { font-size: 14px; margin-right: 6px; }
.move { font-family: DejaVu Sans Mono, monospace; }
"""


def _top_moves(cfg: RulesConfig, state, policy, top_k: int):
    """[(move string, probability)] of a policy given as pairs or as a vector [A] (then also the vector)."""
    if policy is None:
        return None, None
    if isinstance(policy, (list, tuple)) and (not policy or isinstance(policy[0], (list, tuple))):
        return [(str(m), float(p)) for m, p in policy][:top_k], None
    from jaxzero.games.ringrift.parity.notation import action_to_moves

    vec = np.asarray(policy, np.float64).reshape(-1)
    total = vec.sum()
    if total > 0:
        vec = vec / total
    order = [int(a) for a in np.argsort(-vec, kind="stable")[:top_k] if vec[a] > 0]
    s = host_state(state)
    out = []
    for a in order:
        names = action_to_moves(cfg, s, a) or [f"action {a}"]
        out.append((names[0], float(vec[a])))
    return out, vec


def _side(frame: int, last: int, move: str | None, value, top, num_players: int, caption: str | None) -> str:
    parts = []
    if caption:
        parts.append(f"<p>{_esc(caption)}</p>")
    parts.append(f'<p>next move: <span class="move">{_esc(move)}</span></p>' if move
                 else "<p><b>final position</b></p>" if frame == last else "")
    if value is not None:
        v = np.asarray(value, np.float64).reshape(-1)
        rows = "".join(
            f'<tr><td><span class="swatch" style="background:{SEAT_COLOURS[i]}"></span> seat {i + 1}</td>'
            f"<td>{v[i]:+.3f}</td></tr>" for i in range(min(num_players, v.shape[0])))
        parts.append(f"<p>net value per seat (+1 win, -1 loss):</p><table>{rows}</table>")
    if top:
        rows = "".join(
            f'<tr><td class="move">{_esc(m)}</td><td>{100 * p:.1f}%</td>'
            f'<td><span class="bar" style="width:{int(round(120 * p))}px"></span></td></tr>' for m, p in top)
        parts.append(f"<p>net's top moves:</p><table>{rows}</table>")
    return "".join(parts)


def replay_html(
    states: Sequence,
    moves: Sequence[str | None],
    *,
    cfg: RulesConfig | None = None,
    values: Sequence | None = None,
    policies: Sequence | None = None,
    captions: Sequence[str | None] | None = None,
    title: str = "RingRift game",
    top_k: int = TOP_K,
    size: float = 44.0,
) -> str:
    """The HTML text of a replay (see the module docstring). ``cfg`` (the rules: board and players)
    is needed only to name the top moves of policy vectors; by default it is taken from the states."""
    states = [host_state(s) for s in states]
    if not states:
        raise ValueError("a replay needs at least one position")
    t = len(states)
    moves = list(moves)
    if len(moves) not in (t - 1, t):
        raise ValueError(f"{t} positions need {t - 1} moves (or {t}, the last None), got {len(moves)}")
    moves = moves + [None] * (t - len(moves))
    for name, seq in (("values", values), ("policies", policies), ("captions", captions)):
        if seq is not None and len(seq) != t:
            raise ValueError(f"{name} has {len(seq)} entries for {t} positions")
    board = board_of(states[0])
    p = int(states[0]["hand"].shape[-1])
    cfg = cfg or RulesConfig(board=board.name, num_players=p)
    frames = []
    for i, s in enumerate(states):
        top, vec = _top_moves(cfg, s, policies[i] if policies is not None else None, top_k)
        svg = render_svg(s, board=board.name, last_move=moves[i - 1] if i else None, weights=vec, size=size,
                         title=f"position {i}" + (f" — after {moves[i - 1]}" if i else " — start"))
        side = _side(i, t - 1, moves[i], values[i] if values is not None else None, top, p,
                     captions[i] if captions is not None else None)
        frames.append(f'<div class="frame" id="frame-{i}"><div class="row"><div>{svg}</div>'
                      f'<div class="side">{side}</div></div></div>')
    return "\n".join([
        "<!DOCTYPE html>",
        '<html xmlns="http://www.w3.org/1999/xhtml" lang="en">',
        f'<head><meta charset="utf-8"/><title>{_esc(title)}</title><style>{_STYLE}</style></head>',
        "<body>",
        f"<h2>{_esc(title)}</h2>",
        '<p><button type="button" onclick="show(0)">⏮ start</button>'
        '<button type="button" onclick="show(index - 1)">◀ back</button>'
        '<button type="button" onclick="show(index + 1)">next ▶</button>'
        '<button type="button" onclick="show(frames.length - 1)">end ⏭</button>'
        '<span id="counter"></span> (keys: ← →, Home, End)</p>',
        *frames,
        f"<script>{_SCRIPT}</script>",
        "</body></html>",
        "",
    ])


def write_replay(path, states: Sequence, moves: Sequence[str | None], **kwargs) -> Path:
    """Writes `replay_html` to ``path`` (parent folders created) and returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(replay_html(states, moves, **kwargs), encoding="utf-8")
    return path
