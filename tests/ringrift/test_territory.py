"""Territory regions (rules/territory.py) against the reference traces and hand-made cases.

The trace checks rebuild the State before every `territory_processing` step from the
previous digest, compare the offered regions with the step's legal `territory CELLS` /
`skip_territory` moves, apply the recorded region and compare the board fields with the
next digest. The helpers here (digest parsing into batched States, trace case collection)
are shared with test_lines.py.
"""

from __future__ import annotations

import collections
import functools
import gzip
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxzero.games.ringrift.boards import get_board
from jaxzero.games.ringrift.rules import territory
from jaxzero.games.ringrift.state import GAME_OVER, PHASE_NAMES, RulesConfig, empty_state

FILES = [f"{b}_{p}p" for b in ("square8", "hex8") for p in (2, 3, 4)]
FAST_GAMES = 3  # games per file in the fast tier; the slow tier reads all of them
CHUNK = 256  # fixed batch size (padded) so each function compiles once per config

Case = collections.namedtuple("Case", "game step pre legal move post")


# ----------------------------------------------------------------------------------------
# shared helpers (also used by test_lines.py)
# ----------------------------------------------------------------------------------------


def cfg_of(name: str) -> RulesConfig:
    board, p = name.split("_")
    return RulesConfig(board, int(p[0]))


def parse_digest(board, digest: str) -> dict:
    """Numpy view of the digest fields the line/territory rules read or write."""
    f = dict(part.split("=", 1) for part in digest.split("|"))
    n, h = board.num_cells, board.max_height

    def items(v):
        return [it.rsplit(":", 1) for it in v.split(";")] if v else []

    rings = np.zeros((n, h), np.int8)
    height = np.zeros(n, np.int8)
    marker = np.zeros(n, np.int8)
    coll = np.zeros(n, np.int8)
    for k, v in items(f["S"]):
        c = board.parse_cell(k)
        height[c] = len(v)
        rings[c, : len(v)] = [int(x) for x in v]
    for k, v in items(f["M"]):
        marker[board.parse_cell(k)] = int(v)
    for k, v in items(f["C"]):
        coll[board.parse_cell(k)] = int(v)
    region = np.zeros(n, bool)
    if f["tp"] != "-":
        for k in f["tp"].split(";"):
            region[board.parse_cell(k)] = True

    def per(v):
        return np.asarray([int(x) for x in v.split("/")], np.int32)

    return dict(
        rings=rings,
        height=height,
        marker=marker,
        collapsed=coll,
        hand=per(f["H"]),
        elim=per(f["E"]),
        terr=per(f["T"]),
        cur=np.int32(int(f["cp"]) - 1),
        phase=np.int32(PHASE_NAMES.index(f["ph"])),
        pend_line=np.bool_(f["ple"] == "1"),
        pend_terr=np.bool_(f["tp"] != "-"),
        terr_region=region,
        turn_recovery=np.bool_(f["rs"] == "1"),
    )


def batch_states(cfg: RulesConfig, parsed: list):
    """A batched State (leading axis = len(parsed)) from `parse_digest` dicts."""
    base = empty_state(cfg)
    k = len(parsed)
    fields = {}
    for name, v in base.items():
        v = np.asarray(v)
        if parsed and name in parsed[0]:
            fields[name] = np.stack([np.asarray(p[name], v.dtype) for p in parsed])
        else:
            fields[name] = np.broadcast_to(v, (k,) + v.shape)
    return base.replace(**{n: jnp.asarray(v) for n, v in fields.items()})


def run_chunked(fn, cfg: RulesConfig, parsed: list, *args):
    """Applies a jitted vmapped `fn(states, *args)` over fixed-size padded chunks; returns
    the outputs as numpy arrays (a pytree) of length len(parsed)."""
    outs = []
    for i in range(0, len(parsed), CHUNK):
        part = parsed[i : i + CHUNK]
        pad = CHUNK - len(part)
        st = batch_states(cfg, part + [part[0]] * pad)
        a = [np.concatenate([x[i : i + CHUNK], np.repeat(x[i : i + 1], pad, 0)]) for x in args]
        outs.append(jax.tree.map(lambda y, m=len(part): np.asarray(y)[:m], fn(st, *a)))
    return jax.tree.map(lambda *ys: np.concatenate(ys), *outs)


@functools.lru_cache(maxsize=None)
def load_cases(name: str, max_games, phases: tuple):
    """Trace steps in `phases`: (game seed, step index, digest before, legal set, move, digest after)."""
    from jaxzero.paths import traces_dir

    path = traces_dir() / f"{name}.jsonl.gz"
    if not path.exists():
        pytest.skip(f"trace file {path} not found (set JAXZERO_SHARED)")
    cases = []
    with gzip.open(path, "rt") as f:
        for gi, line in enumerate(f):
            if max_games is not None and gi >= max_games:
                break
            g = json.loads(line)
            pre = g["initial"]
            for i, s in enumerate(g["steps"]):
                if s["phase"] in phases:
                    cases.append(Case(g["seed"], i, pre, frozenset(s["legal"]), s["move"], s["digest"]))
                pre = s["digest"]
    return cases


def cell_list(board, cells) -> str:
    return ";".join(board.cell_str(int(c)) for c in sorted(int(c) for c in cells))


def compare_board(board, mine: dict, i: int, post: dict, what=("rings", "height", "marker", "collapsed", "elim", "terr")):
    """Names of the fields of batch row i of `mine` (numpy) that differ from `post`."""
    return [k for k in what if not np.array_equal(np.asarray(mine[k][i]), post[k])]


# ----------------------------------------------------------------------------------------
# compiled functions (one set per config)
# ----------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _fns(name: str):
    cfg = cfg_of(name)
    b = get_board(cfg.board)

    def choices(s):
        comp, cand = territory.find_regions(b, s)
        return comp, cand, territory.region_choices(b, cfg, s, s.cur + 1), territory.has_region(b, cfg, s, s.cur + 1)

    def apply(s, p, r):
        o = territory.apply_region(b, cfg, s, p, r)
        o2 = territory.apply_region(b, cfg, s, p, r, summary=territory.region_summary(b, s))
        same = jnp.all(jnp.stack([jnp.all(x == y) for x, y in zip(jax.tree.leaves(o), jax.tree.leaves(o2))]))
        return dict(rings=o.rings, height=o.height, marker=o.marker, collapsed=o.collapsed,
                    elim=o.elim, terr=o.terr, pend_terr=o.pend_terr, terr_region=o.terr_region, same=same)

    return cfg, b, jax.jit(jax.vmap(choices)), jax.jit(jax.vmap(apply))


def check_territory_file(name: str, max_games):
    """Returns (steps checked, applied, mismatch descriptions)."""
    cases = load_cases(name, max_games, ("territory_processing",))
    cfg, b, choices, apply = _fns(name)
    parsed = [parse_digest(b, c.pre) for c in cases]
    comp, cand, ch, has = run_chunked(choices, cfg, parsed)
    bad = []
    to_apply = []
    for i, c in enumerate(cases):
        strings = {}
        for p, r in zip(*np.nonzero(ch[i])):
            s = "territory " + cell_list(b, np.nonzero(comp[i, p] == r)[0])
            assert s not in strings, f"{name} seed {c.game} step {c.step}: region {s} offered twice"
            strings[s] = (p, r)
        mine = set(strings) | ({"skip_territory"} if strings else set())
        ref = {m for m in c.legal if m.startswith("territory ") or m == "skip_territory"}
        if mine != ref:
            bad.append(f"{name} seed {c.game} step {c.step}: extra {sorted(mine - ref)} missing {sorted(ref - mine)}")
        if bool(has[i]) != bool(strings):
            bad.append(f"{name} seed {c.game} step {c.step}: has_region {bool(has[i])} but {len(strings)} regions")
        # candidates are a superset of the choices; comp labels exactly the candidate regions
        assert np.all(cand[i] >= ch[i])
        pp, cc = np.nonzero(comp[i] >= 0)
        assert np.all(cand[i][pp, comp[i][pp, cc]])
        rp, rr = np.nonzero(cand[i])
        assert np.all(comp[i][rp, rr] == rr)
        if c.move in strings:
            to_apply.append((i, strings[c.move]))
    if to_apply:
        sub = [parsed[i] for i, _ in to_apply]
        pr = np.asarray([p for _, (p, _) in to_apply], np.int32)
        rr = np.asarray([r for _, (_, r) in to_apply], np.int32)
        out = run_chunked(apply, cfg, sub, pr, rr)
        for j, (i, _) in enumerate(to_apply):
            c = cases[i]
            post = parse_digest(b, c.post)
            diff = compare_board(b, out, j, post)
            if not out["same"][j]:
                diff.append("apply_region(summary=...) differs from the flood-fill path")
            if post["phase"] != GAME_OVER:  # the reference clears tp at game over
                if bool(out["pend_terr"][j]) != bool(post["pend_terr"]):
                    diff.append("pend_terr")
                if not np.array_equal(out["terr_region"][j], post["terr_region"]):
                    diff.append("tp")
            if diff:
                bad.append(f"{name} seed {c.game} step {c.step} {c.move[:40]}: differs in {diff}")
    return len(cases), len(to_apply), bad


@pytest.mark.parametrize("name", FILES)
def test_territory_trace_fast(traces_dir, name):
    """Offered regions and region processing match the first games of every trace file."""
    n, applied, bad = check_territory_file(name, FAST_GAMES)
    assert n > 20
    assert not bad, "\n".join(bad[:10])


@pytest.mark.slow
@pytest.mark.parametrize("name", FILES)
def test_territory_trace_full(traces_dir, name):
    """Every territory_processing step of every game of the six public trace files."""
    n, applied, bad = check_territory_file(name, None)
    print(f"{name}: {n} territory steps, {applied} regions applied, {len(bad)} mismatches")
    assert applied > 100
    assert not bad, "\n".join(bad[:10])


# ----------------------------------------------------------------------------------------
# hand-made positions
# ----------------------------------------------------------------------------------------


def _state(cfg, stacks=(), markers=(), collapsed=(), cur=0, turn_recovery=False, pend_terr=False):
    """A State from cell strings: stacks [(cell, "rings bottom->top")], markers / collapsed [(cell, owner)]."""
    b = get_board(cfg.board)
    d = parse_digest(b, "S=|M=|C=|H=0/0/0/0|E=0/0/0/0|T=0/0/0/0|cp=1|ph=territory_processing|ple=0|tp=-|rs=0")
    for c, r in stacks:
        i = b.parse_cell(c)
        d["height"][i] = len(r)
        d["rings"][i, : len(r)] = [int(x) for x in r]
    for c, o in markers:
        d["marker"][b.parse_cell(c)] = o
    for c, o in collapsed:
        d["collapsed"][b.parse_cell(c)] = o
    p = cfg.num_players
    d.update(hand=d["hand"][:p], elim=d["elim"][:p], terr=d["terr"][:p], cur=np.int32(cur),
             turn_recovery=np.bool_(turn_recovery), pend_terr=np.bool_(pend_terr))
    return jax.tree.map(lambda x: x[0], batch_states(cfg, [d]))


def _offered(cfg, st, seat=None):
    b = get_board(cfg.board)
    seat = int(st.cur) + 1 if seat is None else seat
    comp, _ = territory.find_regions(b, st)
    ch = np.asarray(territory.region_choices(b, cfg, st, seat))
    comp = np.asarray(comp)
    return {(int(p), cell_list(b, np.nonzero(comp[p] == r)[0])) for p, r in zip(*np.nonzero(ch))}


def test_no_stacks_no_regions():
    cfg = RulesConfig("square8", 2)
    st = _state(cfg, markers=[("0,1", 1), ("1,0", 1)], collapsed=[("3,3", 2)])
    _, cand = territory.find_regions(get_board("square8"), st)
    assert not np.any(np.asarray(cand))


def test_single_active_seat_pocket_is_a_region():
    """With one seat owning every ring, a stack-free pocket is still a region (0 < 1 active)."""
    cfg = RulesConfig("square8", 2)
    st = _state(cfg, stacks=[("5,5", "11")], markers=[("7,7", 1)], collapsed=[("1,0", 1), ("0,1", 1)])
    assert _offered(cfg, st) == {(0, "0,0")}


def test_closed_region_offered_once_at_lowest_pass():
    """A pocket bounded by collapsed cells is found by passes 0, 1 and 4; offered once (pass 0)."""
    cfg = RulesConfig("square8", 2)
    st = _state(
        cfg,
        stacks=[("0,0", "2"), ("5,5", "1"), ("6,6", "2")],
        markers=[("7,7", 1), ("7,0", 2)],
        collapsed=[("1,0", 1), ("0,1", 1)],
    )
    _, cand = territory.find_regions(get_board("square8"), st)
    cand = np.asarray(cand)
    c00 = get_board("square8").parse_cell("0,0")
    assert cand[0, c00] and cand[1, c00] and cand[4, c00]
    assert _offered(cfg, st) == {(0, "0,0")}


def test_collapsed_only_region_contains_markers():
    """Pass 4 lets markers inside; processing collapses the marker cell with the region."""
    cfg = RulesConfig("square8", 2)
    b = get_board("square8")
    # pocket {0,0 0,1 0,2} behind collapsed 1,0 1,1 1,2 0,3; a 2-marker sits inside it
    st = _state(
        cfg,
        stacks=[("0,0", "2"), ("5,5", "1"), ("6,6", "2")],
        markers=[("0,1", 2)],
        collapsed=[("1,0", 1), ("1,1", 1), ("1,2", 1), ("0,3", 1)],
    )
    # the 2-marker splits the pocket in pass 1 (colour 2); pass 4 keeps it whole
    assert _offered(cfg, st) == {(1, "0,0"), (1, "0,2"), (4, "0,0;0,1;0,2")}
    out = territory.apply_region(b, cfg, st, 4, b.parse_cell("0,0"))
    for c in ("0,0", "0,1", "0,2"):
        i = b.parse_cell(c)
        assert int(out.collapsed[i]) == 1 and int(out.marker[i]) == 0 and int(out.height[i]) == 0
    assert list(np.asarray(out.elim)) == [1, 0] and list(np.asarray(out.terr)) == [3, 0]
    assert bool(out.pend_terr) and cell_list(b, np.nonzero(np.asarray(out.terr_region))[0]) == "0,0;0,1;0,2"


def test_recovery_context_needs_a_buried_ring_outside():
    cfg = RulesConfig("square8", 2)
    kw = dict(stacks=[("0,0", "2"), ("5,5", "12"), ("6,6", "2")], markers=[("7,7", 1)],
              collapsed=[("1,0", 1), ("0,1", 1)])
    assert _offered(cfg, _state(cfg, **kw)) == set()  # seat 1 controls nothing
    assert _offered(cfg, _state(cfg, turn_recovery=True, **kw)) == {(0, "0,0")}
    assert _offered(cfg, _state(cfg, turn_recovery=True, pend_terr=True, **kw)) == set()


def test_hex_border_fill_reaches_distance_two_offset():
    """On hex8 the border fill uses the reference's 8 (x, y) offsets, so (+1, +1) (a cell at
    hex distance 2) joins the border cluster."""
    b = get_board("hex8")
    region = np.zeros(b.num_cells, bool)
    region[b.parse_cell("0,0,0")] = True
    marker = np.zeros(b.num_cells, np.int8)
    marker[b.parse_cell("1,0,-1")] = 1  # territory-adjacent seed
    marker[b.parse_cell("2,1,-3")] = 2  # seed + (1, 1): not a hex neighbour of the seed
    marker[b.parse_cell("3,-1,-2")] = 2  # seed + (2, -1): not reachable
    out = np.asarray(territory.border_markers(b, jnp.asarray(marker), jnp.asarray(region)))
    assert cell_list(b, np.nonzero(out)[0]) == "1,0,-1;2,1,-3"


@pytest.mark.parametrize("board_name", ["square8", "hex8"])
def test_components_match_bfs(board_name):
    """Labels and OR-ed flags equal a plain BFS on random open masks."""
    b = get_board(board_name)
    rng = np.random.default_rng(0)
    masks = rng.random((40, b.num_cells)) < rng.uniform(0.3, 0.9, (40, 1))
    bits = rng.integers(0, 64, (40, b.num_cells))
    lab, ored = jax.jit(jax.vmap(lambda m, x: territory.components(b, m, x)))(jnp.asarray(masks), jnp.asarray(bits))
    lab, ored = np.asarray(lab), np.asarray(ored)
    for k in range(len(masks)):
        seen = {}
        for c in range(b.num_cells):
            if not masks[k, c] or c in seen:
                continue
            comp, todo = [c], [c]
            seen[c] = c
            while todo:
                x = todo.pop()
                for y in b.terr_nbrs[x]:
                    if y >= 0 and masks[k, y] and y not in seen:
                        seen[y] = c
                        comp.append(y)
                        todo.append(y)
            acc = 0
            for x in comp:
                acc |= int(bits[k, x])
            for x in comp:
                assert lab[k, x] == min(comp) and ored[k, x] == acc
        for c in range(b.num_cells):
            if not masks[k, c]:
                assert lab[k, c] == b.num_cells and ored[k, c] == 0


@pytest.mark.parametrize("name", FILES)
def test_digest_parser_agrees_with_notation(traces_dir, name):
    """The fast numpy digest parser used here builds the same fields as the project's
    notation.state_from_digest (used for the full sweep only because it is ~100x faster)."""
    from jaxzero.games.ringrift.parity import notation

    cfg = cfg_of(name)
    b = get_board(cfg.board)
    cases = load_cases(name, FAST_GAMES, ("territory_processing", "line_processing"))
    assert cases
    for c in cases[:: max(1, len(cases) // 12)]:
        mine = parse_digest(b, c.pre)
        ref = notation.state_from_digest(cfg.board, cfg, c.pre)
        for k, v in mine.items():
            assert np.array_equal(np.asarray(getattr(ref, k)), v), (name, c.game, c.step, k)
