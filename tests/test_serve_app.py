"""jaxzero.serve's HTTP layer in process, over a stand-in mover (no device work, no compile):
schema errors 422 naming the field, refusals 400 with the reason, oversized bodies 413, a slow
decision 503, and the batcher collecting concurrent requests into one decide call."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest

from jaxzero.serve.app import create_app
from jaxzero.serve.engine import BadRequest, Decision, Prepared

STATE = {
    "board": {"type": "square8", "size": 8, "stacks": {}, "markers": {}, "collapsedSpaces": {}},
    "boardType": "square8",
    "players": [{"playerNumber": 1, "ringsInHand": 18}, {"playerNumber": 2, "ringsInHand": 18}],
    "currentPhase": "ring_placement",
    "currentPlayer": 1,
    "moveHistory": [],
    "gameStatus": "active",
}


class FakeMover:
    """Answers every position with a placement at (x=seed % 8, y=0); 'slow' boards sleep."""

    best = None
    checkpoint = None
    model_id = None
    ai_type = "heuristic"
    max_batch = 64

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.calls = []
        self.lock = threading.Lock()

    def describe(self):
        return {"player": "fake"}

    def prepare(self, game_state, player, seed=None, *, to_move=True):
        if game_state["board"]["type"] != "square8":
            raise BadRequest(f"unsupported board type {game_state['board']['type']!r}")
        if to_move and player != game_state["currentPlayer"]:
            raise BadRequest(f"player_number {player} is not to move")
        return Prepared(None, None, {}, game_state, player, 0 if seed is None else seed)

    def decide(self, items, simulations=None):
        with self.lock:
            self.calls.append(len(items))
        time.sleep(self.delay)
        return [Decision(move={"type": "place_ring", "player": it.player, "to": {"x": it.seed % 8, "y": 0},
                               "placementCount": 1}, evaluation=0.5) for it in items]

    def evaluate(self, item):
        return 1.0, {"stacks": 1.0}


async def _with_app(mover, fn, **kw):
    app = create_app(mover, **kw)
    inner = app.app  # the FastAPI app inside the body limit: run its lifespan (the batcher)
    async with inner.router.lifespan_context(inner):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            return await fn(c)


def run(coro):
    return asyncio.run(coro)


def test_move_and_health():
    async def go(c):
        r = await c.post("/ai/move", json={"game_state": STATE, "player_number": 1, "seed": 3})
        h = await c.get("/health")
        return r, h

    r, h = run(_with_app(FakeMover(), go))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["move"] == {"type": "place_ring", "player": 1, "to": {"x": 3, "y": 0}, "placementCount": 1}
    assert body["ai_type"] == "heuristic" and body["difficulty"] == 5 and body["evaluation"] == 0.5
    assert h.status_code == 200 and h.json()["status"] == "healthy"


@pytest.mark.parametrize("body,field", [
    ({"player_number": 1}, "game_state"),
    ({"game_state": STATE, "player_number": "one"}, "player_number"),
    ({"game_state": STATE, "player_number": 0}, "player_number"),
    ({"game_state": STATE, "player_number": 3}, "body"),  # more than the game's players
    ({"game_state": {**STATE, "currentPlayer": "x"}, "player_number": 1}, "game_state.currentPlayer"),
    ({"game_state": {**STATE, "players": []}, "player_number": 1}, "game_state.players"),
    ({"game_state": STATE, "player_number": 1, "difficulty": 11}, "difficulty"),
])
def test_schema_errors_are_422_naming_the_field(body, field):
    async def go(c):
        return await c.post("/ai/move", json=body)

    r = run(_with_app(FakeMover(), go))
    assert r.status_code == 422, r.text
    assert field in r.json()["fields"], r.json()


def test_truncated_json_is_422():
    async def go(c):
        return await c.post("/ai/move", content=b'{"game_state": {"board": ', headers={"content-type": "application/json"})

    assert run(_with_app(FakeMover(), go)).status_code == 422


def test_refusals_are_400_with_the_reason():
    async def go(c):
        hexed = {**STATE, "board": {**STATE["board"], "type": "square19"}}
        a = await c.post("/ai/move", json={"game_state": hexed, "player_number": 1})
        b = await c.post("/ai/move", json={"game_state": STATE, "player_number": 2})
        return a, b

    a, b = run(_with_app(FakeMover(), go))
    assert a.status_code == 400 and "square19" in a.json()["detail"]
    assert b.status_code == 400 and "not to move" in b.json()["detail"]


def test_oversized_body_is_413_and_serving_goes_on():
    async def go(c):
        big = await c.post("/ai/move", content=b"{" + b" " * 5000 + b"}", headers={"content-type": "application/json"})
        ok = await c.post("/ai/move", json={"game_state": STATE, "player_number": 1})
        return big, ok

    big, ok = run(_with_app(FakeMover(), go, max_body_bytes=4000))
    assert big.status_code == 413
    assert ok.status_code == 200


def test_slow_decision_is_503_and_serving_goes_on():
    mover = FakeMover(delay=0.5)

    async def go(c):
        slow = await c.post("/ai/move", json={"game_state": STATE, "player_number": 1})
        mover.delay = 0.0
        await asyncio.sleep(0.6)  # the slow batch finishes in the background
        ok = await c.post("/ai/move", json={"game_state": STATE, "player_number": 1})
        return slow, ok

    slow, ok = run(_with_app(mover, go, timeout_s=0.2))
    assert slow.status_code == 503 and "longer than" in slow.json()["detail"]
    assert ok.status_code == 200


def test_concurrent_requests_share_one_decide_call():
    mover = FakeMover(delay=0.05)

    async def go(c):
        rs = await asyncio.gather(*[c.post("/ai/move", json={"game_state": STATE, "player_number": 1, "seed": i})
                                    for i in range(40)])
        return rs

    rs = run(_with_app(mover, go, window_s=0.05))
    assert all(r.status_code == 200 for r in rs)
    assert [r.json()["move"]["to"]["x"] for r in rs] == [i % 8 for i in range(40)]  # each its own answer
    assert sum(mover.calls) == 40 and len(mover.calls) <= 3, mover.calls


def test_moves_batch_is_one_call_and_checks_lengths():
    mover = FakeMover()

    async def go(c):
        ok = await c.post("/ai/moves_batch", json={"game_states": [STATE] * 5, "player_numbers": [1] * 5})
        bad = await c.post("/ai/moves_batch", json={"game_states": [STATE] * 2, "player_numbers": [1]})
        many = await c.post("/ai/moves_batch", json={"game_states": [STATE] * 65, "player_numbers": [1] * 65})
        return ok, bad, many

    ok, bad, many = run(_with_app(mover, go))
    assert ok.status_code == 200 and ok.json()["games_processed"] == 5
    assert [m["game_index"] for m in ok.json()["moves"]] == list(range(5))
    assert mover.calls == [5]
    assert bad.status_code == 422 and many.status_code == 422


def test_evaluate_route():
    async def go(c):
        return await c.post("/ai/evaluate", json={"game_state": STATE, "player_number": 2})

    r = run(_with_app(FakeMover(), go))
    assert r.status_code == 200 and r.json() == {"score": 1.0, "breakdown": {"stacks": 1.0}}
