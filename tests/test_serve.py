"""`python -m jaxzero.serve --player heuristic` as RingRift's game server sees it: a subprocess on a
free 127.0.0.1 port answering RingRift's own `/ai/move` bodies with legal moves, batching
concurrent requests, and surviving hostile input. One server per module (compiled once; the
RingRift compiles make these tests slow)."""

from __future__ import annotations

import concurrent.futures as cf
import copy
import gzip
import json
import os
import random
import socket
import subprocess
import sys
import time

import pytest

from jaxzero import paths

httpx = pytest.importorskip("httpx")

pytestmark = pytest.mark.slow

ID_POS = ("from", "to", "captureTarget")
ID_PLAIN = ("type", "player", "recoveryOption", "recoveryMode")
SKIPS = ("skip_placement", "skip_capture", "skip_territory_processing")


def _pos(p):
    return None if p is None else (p["x"], p["y"], p.get("z"))


def _cells(ps):
    return None if not ps else frozenset(_pos(p) for p in ps)


def move_key(m: dict) -> tuple:
    """The identifying fields of a RingRift Move (service README): type, player, from, to,
    captureTarget, placementCount (placements), recoveryOption/Mode, and the cells of the line or
    region a decision names."""
    k = [m.get(f) for f in ID_PLAIN] + [_pos(m.get(f)) for f in ID_POS]
    k.append(m.get("placementCount") if m.get("type") == "place_ring" else None)
    fl, dr = m.get("formedLines"), m.get("disconnectedRegions")
    k.append(_cells(fl[0]["positions"]) if fl else None)
    k.append(_cells(dr[0]["spaces"]) if dr else None)
    k.append(_cells(m.get("collapsedMarkers")))
    return tuple(k)


def _norm_z(m: dict) -> dict:
    """Square positions: RingRift writes z: null, jaxzero leaves z out; both mean no z."""
    m = copy.deepcopy(m)

    def fix(p):
        if isinstance(p, dict) and p.get("z") is None:
            p.pop("z", None)

    for f in ID_POS:
        fix(m.get(f))
    for ln in m.get("formedLines") or []:
        for p in ln.get("positions") or []:
            fix(p)
    for rg in m.get("disconnectedRegions") or []:
        for p in rg.get("spaces") or []:
            fix(p)
    for p in m.get("collapsedMarkers") or []:
        fix(p)
    return m


def legal_keys(row) -> set:
    return {move_key(_norm_z(m)) for m in row["legal"]}


@pytest.fixture(scope="module")
def requests_rows(shared_dir):
    path = shared_dir / "ringrift" / "service" / "requests.jsonl.gz"
    if not path.is_file():
        pytest.skip(f"{path} not found (shared RingRift service requests)")
    with gzip.open(path, "rt") as f:
        return [json.loads(line) for line in f]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(shared_dir):
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(paths.REPO_ROOT), JAXZERO_SHARED=str(shared_dir))
    env.setdefault("JAX_COMPILATION_CACHE_DIR", str(paths.REPO_ROOT / ".jax_cache"))
    cmd = [sys.executable, "-m", "jaxzero.serve", "--player", "heuristic", "--host", "127.0.0.1",
           "--port", str(port), "--batch-sizes", "1,64", "--timeout", "900", "--window-ms", "20",
           "--max-body-bytes", "4000000"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=base, timeout=900)
    deadline = time.time() + 180
    while True:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode}: {proc.stdout.read()[-3000:]}")
        try:
            if client.get("/health").status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.time() > deadline:
            proc.kill()
            pytest.fail("server did not come up in 180 s")
        time.sleep(0.5)
    yield client
    client.close()
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_every_request_gets_a_legal_move(server, requests_rows):
    bad = []
    for i, row in enumerate(requests_rows):
        r = server.post("/ai/move", json=row["request"])
        if r.status_code != 200:
            bad.append((i, row["phase"], r.status_code, r.text[:200]))
            continue
        body = r.json()
        assert body["ai_type"] == "heuristic" and isinstance(body["evaluation"], float)
        if move_key(_norm_z(body["move"])) not in legal_keys(row):
            bad.append((i, row["phase"], "illegal", body["move"]))
    assert not bad, f"{len(bad)} of {len(requests_rows)} requests not answered with a legal move: {bad[:5]}"


# CI plays hex8 2p and square8 3p; the other two settings are extended (CI budget, 2026-12-06)
@pytest.mark.parametrize("board,players", [("hex8", 2), ("square8", 3),
                                           pytest.param("square8", 4, marks=pytest.mark.extended),
                                           pytest.param("hex8", 3, marks=pytest.mark.extended)])
def test_the_served_heuristic_plays_itself_through_ringrift_json(server, requests_rows, board, players):
    """Self-play states of jaxzero's own engine beyond square8 2p (the checkpoint test's game): from the
    initial position each state is exported as RingRift JSON with its move history (rings
    bottom-first), reads back as the same position, and the server's answer is one of the legal moves
    of jaxzero's state, field for field; the answer is then played. (The module's first test posts
    every board and player count, so the server has compiled them.)"""
    import jax.numpy as jnp
    import numpy as np

    from jaxzero.games.ringrift import init
    from jaxzero.games.ringrift.parity import interop, notation
    from jaxzero.games.ringrift.presets import rules_config
    from jaxzero.games.ringrift.state import GAME_OVER

    cfg = rules_config(board, players)
    eng = notation.engine_fns(cfg)
    state, history, movers, phases = init(cfg), [], set(), set()
    for t in range(24):
        if int(state.phase) == GAME_OVER:
            break
        exported = interop.dump_game_state(cfg, state, game_id=f"selfplay-{board}-{players}", move_history=history)
        interop.check_round_trip(cfg, state, history)
        body = {"game_state": _bottom_first(exported), "player_number": exported["currentPlayer"], "seed": t}
        r = server.post("/ai/move", json=body)
        assert r.status_code == 200, (t, r.text[:300])
        move = r.json()["move"]
        legal = set()
        for a in np.nonzero(np.asarray(eng.legal_mask(state)))[0]:
            try:
                legal.add(move_key(_norm_z(interop.action_to_move(cfg, state, int(a), exported))))
            except ValueError:  # a recovery sub-decision: RingRift folds it into the slide
                pass
        assert move_key(_norm_z(move)) in legal, (t, exported["currentPhase"], move)
        movers.add(move["player"])
        phases.add(exported["currentPhase"])
        for a in interop.move_to_actions(cfg, state, move):
            state = eng.apply_move(state, jnp.int32(a))
        history.append(move)
    assert len(history) == 24 and movers == set(range(1, players + 1)), (len(history), movers)
    assert {"ring_placement", "movement"} <= phases, phases


def test_same_request_and_seed_same_move(server, requests_rows):
    for row in requests_rows[:6]:
        a = server.post("/ai/move", json=row["request"]).json()["move"]
        b = server.post("/ai/move", json=row["request"]).json()["move"]
        assert a == b


def _bottom_first(state: dict) -> dict:
    """A contract vector's state (TypeScript order, rings top-first) as RingRift's ai-service
    receives it (its models list rings bottom-first)."""
    st = copy.deepcopy(state)
    for stack in (st.get("board") or {}).get("stacks", {}).values():
        stack["rings"] = list(reversed(stack["rings"]))
    return st


def test_contract_vector_states(server, vectors_dir):
    answered, refused = 0, []
    for path in sorted(vectors_dir.glob("*.vectors.json")):
        for case in json.loads(path.read_text())["vectors"]:
            st = case["input"]["state"]
            board = (st.get("board") or {}).get("type")
            if st.get("gameStatus", "active") != "active":
                continue
            body = {"game_state": _bottom_first(st), "player_number": st["currentPlayer"], "seed": 1}
            r = server.post("/ai/move", json=body)
            if board not in ("square8", "hex8"):
                assert r.status_code in (400, 422) and board in r.text, (path.name, r.text[:200])
                continue
            if r.status_code == 200:
                mv = r.json()["move"]
                assert mv["player"] == st["currentPlayer"] and mv["type"], mv
                answered += 1
            else:  # a state jaxzero cannot represent (stale vectors): refused with a reason, not a crash
                assert r.status_code == 400 and r.json()["detail"], r.text
                refused.append((path.name, case.get("id"), r.json()["detail"][:120]))
    assert answered > 0, refused
    assert len(refused) <= answered, refused


def _post_many(client, bodies):
    with cf.ThreadPoolExecutor(len(bodies)) as ex:
        return list(ex.map(lambda b: client.post("/ai/move", json=b), bodies))


def test_64_concurrent_requests_are_batched(server, requests_rows):
    rows = [r for r in requests_rows if (r["board"], r["num_players"]) == ("square8", 2)]
    bodies = [dict(rows[i % len(rows)]["request"], seed=i) for i in range(64)]
    _post_many(server, bodies)  # compile the batch of 64
    _post_many(server, bodies)
    one = []
    for _ in range(3):
        t = time.perf_counter()
        assert server.post("/ai/move", json=bodies[0]).status_code == 200
        one.append(time.perf_counter() - t)
    t = time.perf_counter()
    rs = _post_many(server, bodies)
    t64 = time.perf_counter() - t
    assert all(r.status_code == 200 for r in rs)
    for r, b in zip(rs, bodies):
        key = move_key(_norm_z(r.json()["move"]))
        assert key in legal_keys(next(x for x in rows if x["request"]["game_state"] is b["game_state"]))
    t1 = sorted(one)[1]
    backend = server.get("/health").json().get("backend")
    if backend == "cpu" and not t64 < 3 * t1:
        pytest.xfail(f"on a CPU backend 64 decisions cost ~64x one (measured {t64:.2f}s vs {t1:.3f}s): "
                     "the 3x bound needs an accelerator")
    assert t64 < 3 * t1, f"64 concurrent requests took {t64:.3f}s, one took {t1:.3f}s"


def _mutations(rows, n, seed=0):
    """n hostile bodies (bytes): real states mutated, wrong types, truncated and junk bodies."""
    rng = random.Random(seed)
    base = [r["request"] for r in rows]
    junk_values = [None, -1, 10**12, "x", [], {}, 3.5, True, "square19", {"x": 99, "y": 99}]

    def some_dict_path(d, depth=0):
        keys = list(d.keys()) if isinstance(d, dict) else list(range(len(d)))
        if not keys:
            return None
        k = rng.choice(keys)
        v = d[k]
        if isinstance(v, (dict, list)) and v and depth < 5 and rng.random() < 0.7:
            sub = some_dict_path(v, depth + 1)
            if sub is not None:
                return sub
        return d, k

    out = []
    for i in range(n):
        req = copy.deepcopy(rng.choice(base))
        kind = i % 6
        if kind == 0:  # any field set to a wrong-typed / out-of-range value
            hit = some_dict_path(req)
            if hit:
                d, k = hit
                d[k] = rng.choice(junk_values)
        elif kind == 1:  # a field removed
            hit = some_dict_path(req)
            if hit:
                d, k = hit
                del d[k]
        elif kind == 2:  # rules-level corruption of a real state
            gs = req["game_state"]
            choice = rng.randrange(7)
            if choice == 0:
                gs["currentPlayer"] = rng.choice([0, 5, len(gs["players"])])
            elif choice == 1:
                gs["currentPhase"] = rng.choice(["nonsense", "game_over", "chain_capture", "capture", "line_processing"])
            elif choice == 2:
                gs["gameStatus"] = rng.choice(["completed", "finished", "waiting"])
            elif choice == 3 and gs["board"]["stacks"]:
                k = rng.choice(list(gs["board"]["stacks"]))
                gs["board"]["stacks"][k]["rings"] = rng.choice([[9], [1] * 40, [], [0, 1]])
            elif choice == 4:
                gs["board"]["stacks"]["99,99"] = {"rings": [1], "controllingPlayer": 1, "stackHeight": 1, "capHeight": 1}
            elif choice == 5:
                gs["board"]["type"] = rng.choice(["hex8", "square19", "hexagonal"])
            else:
                gs["players"] = gs["players"][:1] + gs["players"]
        out.append(json.dumps(req).encode())
        if kind == 3:  # truncated body
            out[-1] = out[-1][: rng.randrange(1, len(out[-1]))]
        elif kind == 4:  # junk bytes
            out[-1] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
        elif kind == 5:  # wrong top-level types
            out[-1] = json.dumps(rng.choice([[], 1, "move", {"game_state": [], "player_number": {}}])).encode()
    return out


def test_fuzz_hostile_requests_then_still_serving(server, requests_rows):
    rows = [r for r in requests_rows if (r["board"], r["num_players"]) == ("square8", 2)]
    bodies = _mutations(rows, 1000)
    codes = {}
    for body in bodies:
        r = server.post("/ai/move", content=body, headers={"content-type": "application/json"})
        codes[r.status_code] = codes.get(r.status_code, 0) + 1
        assert r.status_code in (200, 400, 422), (r.status_code, r.text[:300], body[:300])
        if r.status_code in (400, 422):
            assert r.json()["detail"]
    big = server.post("/ai/move", content=b"{" + b" " * 4_100_000 + b"}", headers={"content-type": "application/json"})
    assert big.status_code == 413
    assert server.get("/health").status_code == 200
    r = server.post("/ai/move", json=rows[0]["request"])
    assert r.status_code == 200 and move_key(_norm_z(r.json()["move"])) in legal_keys(rows[0])
    assert codes.get(422, 0) > 100 and codes.get(400, 0) > 20, codes


def test_moves_batch_answers_64_in_one_call(server, requests_rows):
    rows = [r for r in requests_rows if (r["board"], r["num_players"]) == ("square8", 2)]
    picks = [rows[i % len(rows)] for i in range(64)]
    body = {"game_states": [p["request"]["game_state"] for p in picks],
            "player_numbers": [p["request"]["player_number"] for p in picks], "seed": 5}
    r = server.post("/ai/moves_batch", json=body)
    assert r.status_code == 200, r.text[:300]
    out = r.json()
    assert out["games_processed"] == 64
    for item, p in zip(out["moves"], picks):
        assert move_key(_norm_z(item["move"])) in legal_keys(p)


def test_evaluate(server, requests_rows):
    row = requests_rows[-1]
    r = server.post("/ai/evaluate", json={"game_state": row["request"]["game_state"], "player_number": 1})
    assert r.status_code == 200, r.text
    assert set(r.json()["breakdown"]) >= {"eliminated", "territory", "stacks"}
