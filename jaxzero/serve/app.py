"""The FastAPI app: RingRift's AI-service routes over a `Mover`, with requests batched on the device.

Routes: ``POST /ai/move`` (`MoveRequest` -> `MoveResponse`), ``POST /ai/moves_batch`` (1-64
states answered by one `Mover.decide` call), ``POST /ai/evaluate`` (the heuristic score and its
breakdown), ``GET /health`` and ``GET /``.

Batching: every ``/ai/move`` puts its prepared position on a queue; one collector task takes the
first waiting position, keeps collecting for `window_s` (or until `max_batch` are waiting) and
hands them all to one `Mover.decide` call in a single worker thread (the device is used by one
call at a time), then resolves every request's future.

Hostile input gets an answer: schema errors 422 naming the field (the body is not echoed),
`BadRequest` 400 with the reason, a body over `max_body_bytes` 413, a decision that takes longer
than `timeout_s` 503 (the search finishes in the background; the server keeps serving).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import List, Optional

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from jaxzero.serve.engine import BadRequest, Decision, Mover, Prepared
from jaxzero.serve.models import (
    BatchMoveItem,
    BatchMoveRequest,
    BatchMoveResponse,
    EvaluationRequest,
    EvaluationResponse,
    MoveRequest,
    MoveResponse,
)

log = logging.getLogger("jaxzero.serve")

DEFAULT_MAX_BODY = 8_000_000  # 64 states with long move histories fit


class BodyLimit:
    """ASGI middleware: a request body over `limit` bytes is answered 413 before the app sees it
    (Content-Length checked first; a body without one is read up to the limit)."""

    def __init__(self, app, limit: int):
        self.app = app
        self.limit = int(limit)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.limit
            except ValueError:
                return await _send_json(send, 400, {"detail": "malformed Content-Length header"})
            if too_big:
                return await _send_json(send, 413, {"detail": f"request body over {self.limit} bytes"})
        body, more = b"", True
        while more:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            body += msg.get("body", b"")
            more = msg.get("more_body", False)
            if len(body) > self.limit:
                return await _send_json(send, 413, {"detail": f"request body over {self.limit} bytes"})
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)


async def _send_json(send, status: int, payload: dict):
    import json

    data = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


class Batcher:
    """Collects positions for `window_s` (at most `max_batch`) and decides them in one call."""

    def __init__(self, mover: Mover, window_s: float, max_batch: int, executor: ThreadPoolExecutor):
        self.mover = mover
        self.window_s = float(window_s)
        self.max_batch = int(max_batch)
        self.executor = executor
        self.queue: Optional[asyncio.Queue] = None
        self.task: Optional[asyncio.Task] = None
        self.batches: List[int] = []  # sizes of the last batches (observability, tests)

    def start(self):
        self.queue = asyncio.Queue()
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self):
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def submit(self, item: Prepared) -> "asyncio.Future[Decision]":
        fut = asyncio.get_running_loop().create_future()
        await self.queue.put((item, fut))
        return fut

    async def _run(self):
        loop = asyncio.get_running_loop()
        while True:
            first = await self.queue.get()
            pending = [first]
            deadline = loop.time() + self.window_s
            while len(pending) < self.max_batch:
                left = deadline - loop.time()
                if left <= 0:
                    break
                try:
                    pending.append(await asyncio.wait_for(self.queue.get(), left))
                except asyncio.TimeoutError:
                    break
            while len(pending) < self.max_batch and not self.queue.empty():
                pending.append(self.queue.get_nowait())
            live = [(it, f) for it, f in pending if not f.done()]
            if not live:
                continue
            self.batches = (self.batches + [len(live)])[-256:]
            try:
                decisions = await loop.run_in_executor(self.executor, self.mover.decide, [it for it, _ in live])
            except Exception as e:  # a failure answers this batch, the collector keeps running
                log.exception("batch of %d failed", len(live))
                decisions = [Decision(error=f"internal error: {type(e).__name__}: {e}")] * len(live)
            for (_, f), d in zip(live, decisions):
                if not f.done():
                    f.set_result(d)


def create_app(mover: Mover, *, window_s: float = 0.01, timeout_s: float = 30.0,
               max_body_bytes: int = DEFAULT_MAX_BODY) -> FastAPI:
    """The ASGI app serving `mover` (wrapped in the body-size limit)."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jaxzero-device")
    prep_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="jaxzero-prepare")
    batcher = Batcher(mover, window_s, mover.max_batch, executor)

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        batcher.start()
        yield
        await batcher.stop()
        executor.shutdown(wait=False, cancel_futures=True)
        prep_pool.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="jaxzero RingRift AI service", version="1.0.0", lifespan=lifespan)
    app.state.mover = mover
    app.state.batcher = batcher

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError):
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
                  for e in exc.errors()[:20]]
        fields = sorted({".".join(str(x) for x in e["loc"][1:]) or "body" for e in errors})
        return JSONResponse(status_code=422, content={"detail": errors, "fields": fields})

    async def _prepare(game_state, player, seed, to_move=True) -> Prepared:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(prep_pool, lambda: mover.prepare(game_state, player, seed, to_move=to_move))
        except BadRequest as e:
            raise HTTPException(status_code=400, detail=str(e)) from None

    async def _await(coro_or_fut, what: str):
        try:
            return await asyncio.wait_for(coro_or_fut, timeout_s)
        except asyncio.TimeoutError:
            raise HTTPException(status_code=503, detail=f"{what} took longer than {timeout_s:g}s; try again") from None

    def _check(d: Decision) -> Decision:
        if d.error is not None:
            code = 500 if d.error.startswith("internal error") else 400
            raise HTTPException(status_code=code, detail=d.error)
        return d

    @app.get("/")
    async def root():
        return {"service": "jaxzero RingRift AI service", "status": "running", "version": "1.0.0"}

    @app.get("/health")
    async def health():
        return {"status": "healthy", **mover.describe()}

    @app.post("/ai/move", response_model=MoveResponse)
    async def ai_move(req: MoveRequest):
        t0 = time.perf_counter()
        item = await _prepare(req.game_state.as_json(), req.player_number, req.seed)
        fut = await batcher.submit(item)
        d = _check(await _await(asyncio.shield(fut), "the move"))
        return MoveResponse(move=d.move, evaluation=d.evaluation, thinking_time_ms=int(1000 * (time.perf_counter() - t0)),
                            ai_type=mover.ai_type, difficulty=req.difficulty,
                            use_neural_net=mover.best is not None, nn_model_id=mover.model_id,
                            nn_checkpoint=mover.checkpoint)

    @app.post("/ai/moves_batch", response_model=BatchMoveResponse)
    async def ai_moves_batch(req: BatchMoveRequest):
        t0 = time.perf_counter()
        items = []
        for i, (st, p) in enumerate(zip(req.game_states, req.player_numbers)):
            try:
                items.append(await _prepare(st.as_json(), p, None if req.seed is None else req.seed + i))
            except HTTPException as e:
                raise HTTPException(status_code=e.status_code, detail=f"game_states[{i}]: {e.detail}") from None
        loop = asyncio.get_running_loop()
        fut = loop.run_in_executor(executor, lambda: mover.decide(items, req.simulation_budget))
        decisions = await _await(asyncio.shield(fut), "the batch")
        for i, d in enumerate(decisions):
            if d.error is not None:
                raise HTTPException(status_code=500 if d.error.startswith("internal") else 400,
                                    detail=f"game_states[{i}]: {d.error}")
        dt = time.perf_counter() - t0
        return BatchMoveResponse(moves=[BatchMoveItem(move=d.move, evaluation=d.evaluation, game_index=i)
                                        for i, d in enumerate(decisions)],
                                 total_thinking_time_ms=int(1000 * dt), games_processed=len(items),
                                 mode=req.mode, throughput_games_per_sec=len(items) / max(dt, 1e-3))

    @app.post("/ai/evaluate", response_model=EvaluationResponse)
    async def ai_evaluate(req: EvaluationRequest):
        item = await _prepare(req.game_state.as_json(), req.player_number, None, to_move=False)
        loop = asyncio.get_running_loop()
        score, breakdown = await _await(asyncio.shield(loop.run_in_executor(executor, mover.evaluate, item)),
                                        "the evaluation")
        return EvaluationResponse(score=score, breakdown=breakdown)

    return BodyLimit(app, max_body_bytes)
