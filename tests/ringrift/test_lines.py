"""Marker lines (rules/lines.py) against the reference traces and a brute-force model.

Trace checks: for every `line_processing` step the offered line decisions must equal the
step's `process_line CELLS` / `line_option CELLS all` / `line_option CELLS seg SEG` moves,
and applying the recorded one must give the next digest's board (S, M, C, E, T, ple). The
recovery helper `slide_lines` must reproduce exactly the line-mode `recovery A>B line ...`
slides the reference offers.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxzero.games.ringrift.boards import get_board
from jaxzero.games.ringrift.rules import lines
from jaxzero.games.ringrift.state import GAME_OVER, RulesConfig
from tests.ringrift.test_territory import (
    FAST_GAMES,
    FILES,
    batch_states,
    cell_list,
    cfg_of,
    compare_board,
    load_cases,
    parse_digest,
    run_chunked,
)


@functools.lru_cache(maxsize=None)
def _fns(name: str):
    cfg = cfg_of(name)
    b = get_board(cfg.board)

    def choices(s):
        start, length = lines.find_lines(b, cfg, s.marker, s.cur + 1)
        ch = lines.line_choices(b, cfg, s, s.cur + 1)
        # the all-seat summary must give the same choices for the seat to move
        ch2 = lines.line_choices(b, cfg, s, s.cur + 1, summary=lines.line_summary(b, cfg, s))
        return start, length, jnp.where(jnp.all(ch == ch2), ch, False), lines.has_line(b, cfg, s, s.cur + 1)

    def apply(s, a, c, k):
        o = lines.apply_line(b, cfg, s, a, c, k)
        return dict(rings=o.rings, height=o.height, marker=o.marker, collapsed=o.collapsed,
                    elim=o.elim, terr=o.terr, pend_line=o.pend_line)

    def slides(s):
        return lines.slide_lines(b, cfg, s.marker, s.cur + 1)

    return cfg, b, jax.jit(jax.vmap(choices)), jax.jit(jax.vmap(apply)), jax.jit(jax.vmap(slides))


def line_strings(b, cfg, start, length, ch):
    """{reference move string: (axis, cell, kind)} for one state's LINE-block choices."""
    along = lines._tables(b).along
    out = {}
    for a, s in zip(*np.nonzero(start)):
        cells = cell_list(b, along[a, s, : length[a, s]])
        if ch[a, s, 0]:
            out[f"process_line {cells}"] = (a, s, 0)
            out[f"line_option {cells} all"] = (a, s, 0)
    for a, c in zip(*np.nonzero(ch[:, :, 1])):
        back = lines._tables(b).back[a, c]
        starts = [s for o, s in enumerate(back) if s < b.num_cells and start[a, s] and o < length[a, s]]
        assert len(starts) == 1
        s = starts[0]
        line = cell_list(b, along[a, s, : length[a, s]])
        seg = cell_list(b, along[a, c, : cfg.line_length])
        out[f"line_option {line} seg {seg}"] = (a, c, 1)
    return out


def check_lines_file(name: str, max_games):
    cases = load_cases(name, max_games, ("line_processing",))
    cfg, b, choices, apply, _ = _fns(name)
    parsed = [parse_digest(b, c.pre) for c in cases]
    start, length, ch, has = run_chunked(choices, cfg, parsed)
    bad, to_apply = [], []
    for i, c in enumerate(cases):
        strings = line_strings(b, cfg, start[i], length[i], ch[i])
        ref = {m for m in c.legal if m.startswith("process_line ") or m.startswith("line_option ")}
        if set(strings) != ref:
            bad.append(f"{name} seed {c.game} step {c.step}: extra {sorted(set(strings) - ref)} missing {sorted(ref - set(strings))}")
        if bool(has[i]) != bool(np.any(start[i])):
            bad.append(f"{name} seed {c.game} step {c.step}: has_line disagrees with find_lines")
        if c.move in strings:
            to_apply.append((i, strings[c.move]))
    if to_apply:
        sub = [parsed[i] for i, _ in to_apply]
        args = [np.asarray([t[k] for _, t in to_apply], np.int32) for k in range(3)]
        out = run_chunked(apply, cfg, sub, *args)
        for j, (i, _) in enumerate(to_apply):
            c = cases[i]
            post = parse_digest(b, c.post)
            diff = compare_board(b, out, j, post)
            if post["phase"] != GAME_OVER and bool(out["pend_line"][j]) != bool(post["pend_line"]):
                diff.append("ple")
            if diff:
                bad.append(f"{name} seed {c.game} step {c.step} {c.move[:50]}: differs in {diff}")
    return len(cases), len(to_apply), bad


def check_recovery_slides(name: str, max_games):
    """Line-mode recovery slides offered by the reference == slides `slide_lines` marks."""
    cases = [c for c in load_cases(name, max_games, ("movement",)) if any(m.startswith("recovery ") for m in c.legal)]
    if not cases:
        return 0, []
    cfg, b, _, _, slides = _fns(name)
    parsed = [parse_digest(b, c.pre) for c in cases]
    length = run_chunked(slides, cfg, parsed)
    nbr = b.move_nbrs
    bad = []
    for i, c in enumerate(cases):
        d = parsed[i]
        seat = int(d["cur"]) + 1
        empty = (d["height"] == 0) & (d["marker"] == 0) & (d["collapsed"] == 0)
        mine = set()
        for src, dd in zip(*np.nonzero(np.any(length[i] >= cfg.line_length, axis=-1))):
            e = nbr[src, dd]
            if d["marker"][src] == seat and e >= 0 and empty[e]:
                mine.add(f"{b.cell_str(src)}>{b.cell_str(e)}")
        ref = {m.split()[1] for m in c.legal if m.startswith("recovery ") and m.split()[2] == "line"}
        if mine != ref:
            bad.append(f"{name} seed {c.game} step {c.step}: extra {sorted(mine - ref)} missing {sorted(ref - mine)}")
    return len(cases), bad


@pytest.mark.parametrize("name", FILES)
def test_lines_trace_fast(traces_dir, name):
    """Offered line decisions and their effects match the first games of every trace file."""
    n, applied, bad = check_lines_file(name, FAST_GAMES)
    assert n > 20
    assert not bad, "\n".join(bad[:10])


@pytest.mark.slow
@pytest.mark.parametrize("name", FILES)
def test_lines_trace_full(traces_dir, name):
    """Every line_processing step of every game, and every recovery-eligible movement step."""
    n, applied, bad = check_lines_file(name, None)
    nr, bad_r = check_recovery_slides(name, None)
    print(f"{name}: {n} line steps, {applied} lines applied, {nr} recovery steps, {len(bad) + len(bad_r)} mismatches")
    assert n > 1000 and applied > 0
    assert not bad + bad_r, "\n".join((bad + bad_r)[:10])


# ----------------------------------------------------------------------------------------
# brute-force model on random boards
# ----------------------------------------------------------------------------------------


def _brute_runs(b, marker, seat, virtual=None):
    """{(axis, start): length} of all maximal runs (any length) of `seat` markers; `virtual`
    is a cell treated as holding a `seat` marker."""
    own = marker == seat
    if virtual is not None:
        own = own.copy()
        own[virtual] = True
    out = {}
    for a, d in enumerate(b.line_axes):
        back = b.opposite[d]
        for c in range(b.num_cells):
            p = b.rays[c, back, 0]
            if own[c] and not (p >= 0 and own[p]):
                n = 1
                while n <= b.max_dist and b.rays[c, d, n - 1] >= 0 and own[b.rays[c, d, n - 1]]:
                    n += 1
                out[(a, c)] = n
    return out


def _random_markers(b, rng, k):
    m = rng.integers(0, 3, (k, b.num_cells)).astype(np.int8)
    m[rng.random((k, b.num_cells)) < 0.25] = 0
    return m


@pytest.mark.parametrize("board_name,line_length", [("square8", 4), ("square8", 3), ("hex8", 4), ("hex8", 3)])
def test_find_lines_and_choices_match_brute_force(board_name, line_length):
    b = get_board(board_name)
    cfg = RulesConfig(board_name, 2 if line_length == 4 else 3)
    rng = np.random.default_rng(1)
    markers = _random_markers(b, rng, 30)
    st = batch_states(cfg, [dict(marker=m) for m in markers])
    start, length, ch = jax.jit(jax.vmap(lambda s: (*lines.find_lines(b, cfg, s.marker, 1), lines.line_choices(b, cfg, s, 1))))(st)
    start, length, ch = np.asarray(start), np.asarray(length), np.asarray(ch)
    summ, ch2 = jax.jit(jax.vmap(lambda s: (lines.line_summary(b, cfg, s), lines.line_choices(b, cfg, s, 2))))(st)
    assert np.array_equal(np.asarray(summ)[:, 0], ch) and np.array_equal(np.asarray(summ)[:, 1], np.asarray(ch2))
    for k in range(len(markers)):
        runs = {key: n for key, n in _brute_runs(b, markers[k], 1).items() if n >= line_length}
        got = {(int(a), int(c)): int(length[k, a, c]) for a, c in zip(*np.nonzero(start[k]))}
        assert got == runs
        assert np.array_equal(ch[k, :, :, 0], start[k])
        seg = set()
        for (a, s), n in runs.items():
            for o in range(n - line_length + 1 if n > line_length else 0):
                seg.add((a, int(lines._tables(b).along[a, s, o])))
        assert {(int(a), int(c)) for a, c in zip(*np.nonzero(ch[k, :, :, 1]))} == seg


@pytest.mark.parametrize("board_name", ["square8", "hex8"])
def test_slide_lines_and_lines_through_match_brute_force(board_name):
    b = get_board(board_name)
    cfg = RulesConfig(board_name, 3)
    rng = np.random.default_rng(2)
    markers = _random_markers(b, rng, 12)
    fn = jax.jit(lambda m: lines.slide_lines(b, cfg, m, 1))
    through = jax.jit(lambda m, c: lines.lines_through(b, cfg, m, 1, c))
    for m in markers:
        length = np.asarray(fn(jnp.asarray(m)))
        for c in np.nonzero(m == 1)[0][:6]:
            for d in range(b.num_dirs):
                e = b.move_nbrs[c, d]
                if e < 0:
                    assert np.all(length[c, d] == 0)
                    continue
                moved = m.copy()
                moved[c] = 0
                moved[e] = 0
                runs = _brute_runs(b, moved, 1, virtual=e)
                want = []
                for a, ax in enumerate(b.line_axes):
                    (s, n), = [(s, n) for (aa, s), n in runs.items() if aa == a and e in
                               [s] + [int(b.rays[s, ax, j]) for j in range(n - 1)]]
                    want.append((s, n))
                assert [n for _, n in want] == list(length[c, d])
                st, ln = through(jnp.asarray(moved), e)
                assert [(int(x), int(y)) for x, y in zip(np.asarray(st), np.asarray(ln))] == want


def test_overlength_options_and_waiver():
    """A 6-marker line with L = 4: kind 0 at its start, kind 1 at its first 3 cells; Option 1
    sets the pending reward only when the seat controls a stack; Option 2 never does."""
    cfg = RulesConfig("square8", 2)
    b = get_board("square8")
    cells = [b.parse_cell(f"{x},2") for x in range(1, 7)]
    d = dict(marker=np.zeros(b.num_cells, np.int8))
    d["marker"][cells] = 1
    st = jax.tree.map(lambda x: x[0], batch_states(cfg, [d]))
    ch = np.asarray(lines.line_choices(b, cfg, st, 1))
    east = list(b.line_axes).index(b.directions.index((1, 0)))
    assert {tuple(x) for x in np.argwhere(ch)} == {(east, cells[0], 0)} | {(east, c, 1) for c in cells[:3]}
    out = lines.apply_line(b, cfg, st, east, cells[0], 0)
    assert not bool(out.pend_line)  # no stack: reward waived
    assert int(out.terr[0]) == 6 and np.all(np.asarray(out.collapsed)[cells] == 1)
    h = np.zeros(b.num_cells, np.int8)
    h[0] = 1
    r = np.zeros((b.num_cells, b.max_height), np.int8)
    r[0, 0] = 1
    st2 = st.replace(height=jnp.asarray(h), rings=jnp.asarray(r))
    assert bool(lines.apply_line(b, cfg, st2, east, cells[0], 0).pend_line)
    out2 = lines.apply_line(b, cfg, st2, east, cells[1], 1)
    assert not bool(out2.pend_line)
    assert np.array_equal(np.nonzero(np.asarray(out2.collapsed))[0], np.sort(cells[1:5]))
    assert int(out2.marker[cells[0]]) == 1 and int(out2.marker[cells[5]]) == 1
    assert not np.any(np.asarray(lines.line_choices(b, cfg, st2.replace(pend_line=jnp.asarray(True)), 1)))


def test_reference_axis_priority():
    """The reference tries E, SE, S, NE on square boards; the hex order is the board's."""
    sq = get_board("square8")
    order = [tuple(sq.directions[int(sq.line_axes[a])]) for a in np.argsort(lines.reference_axis_priority(sq))]
    assert order == [(1, 0), (1, 1), (0, 1), (1, -1)]
    hx = get_board("hex8")
    assert list(lines.reference_axis_priority(hx)) == [0, 1, 2]
