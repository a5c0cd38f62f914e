"""A fault-injecting HTTP proxy on 127.0.0.1 between the sync daemon and the store, running its own
event loop in a thread of the test process.

Each request to the sync endpoints (``POST /v1/batches``, ``PUT``/``HEAD /v1/blobs``, ``GET
/v1/acked``) may meet one fault, drawn with probability ``rate`` from ``faults`` while ``budget``
lasts (so every loop is bounded):

* ``500`` and ``429`` (with ``Retry-After``): answered by the proxy; the store never sees it;
* ``reset-before``: the connection is closed before the store sees the request;
* ``503-after``, ``reset-after``: the store applies the request, then the answer is a 503 or a
  closed connection;
* ``truncated``: the store's answer is cut in half (its ``Content-Length`` promises all of it);
* ``slow``: the answer is held back up to ``SLOW_MAX`` s (past the daemon's request timeout now and then);
* ``stale-duplicate``: after the request, one of the last ``KEEP`` batches seen is delivered to the
  store again (a delayed duplicate, as a request that waited in a queue past its timeout would be).

Request bodies are streamed to the store, ``put_chunk_delay`` s per 64 KiB of a blob upload (so a
daemon killed mid-upload leaves a partial upload in the store). With ``hold_put_end`` an upload's
every byte reaches the store but the request is held open until ``abort_held()`` aborts it: the
store then holds a full-size partial upload (the daemon died after its last byte was sent). A store that is down or paused
answers 502 or nothing, as a real one would. ``upstream`` may change while it runs (a restarted
store listens on another port).
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter

import aiohttp
from aiohttp import web

FAULTS = ("500", "429", "reset-before", "503-after", "reset-after", "truncated", "slow", "stale-duplicate")
KEEP = 20
SLOW_MAX = 4.0  # s; the daemon's request timeout in this suite is 3 s
CHUNK = 64 << 10
HOP_BY_HOP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "date", "server"}
SYNC_ROUTES = ("/v1/batches", "/v1/blobs/", "/v1/acked")


class FaultProxy:
    def __init__(self, upstream: str, seed: int) -> None:
        self.upstream = upstream
        self.rng = random.Random(seed)
        self.faults: tuple[str, ...] = ()
        self.rate = 0.0
        self.budget = 0
        self.in_turn = False
        self.put_chunk_delay = 0.0
        self.counts: Counter[str] = Counter()
        self.puts_in_flight = 0
        self._batches: list[tuple[dict, bytes]] = []  # the last KEEP batch requests (headers, body)
        self.hold_put_end = False
        self.held = 0  # uploads held after their last byte
        self._abort: asyncio.Event | None = None
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def inject(self, faults: tuple[str, ...], rate: float, budget: int, in_turn: bool = False) -> None:
        """From now on, fail a ``rate`` share of sync requests with one of ``faults`` (drawn at random,
        or ``in_turn``: each in its turn), ``budget`` times at most."""
        self.faults, self.rate, self.budget, self.in_turn = tuple(faults), rate, budget, in_turn

    def abort_held(self) -> None:
        """Abort the uploads held by ``hold_put_end`` (the store sees their connections drop)."""
        self._loop.call_soon_threadsafe(self._abort.set)

    def start(self) -> FaultProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(30)
        return self

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._loop.close()

    async def _start(self) -> None:
        self._abort = asyncio.Event()
        app = web.Application(client_max_size=1 << 30)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60), auto_decompress=False)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def _stop(self) -> None:
        await self._runner.cleanup()
        await self._session.close()

    def _pick(self, request: web.Request) -> str:
        if not request.path.startswith(SYNC_ROUTES) or self.budget <= 0 or not self.faults:
            return ""
        if self.rng.random() >= self.rate:
            return ""
        self.budget -= 1
        return self.faults[self.budget % len(self.faults)] if self.in_turn else self.rng.choice(self.faults)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        fault = self._pick(request)
        self.counts[fault or "passed"] += 1
        if fault == "429":
            await request.read()
            return web.Response(status=429, headers={"Retry-After": "0.2"}, text="injected 429")
        if fault == "500":
            await request.read()
            return web.Response(status=500, text="injected 500")
        if fault == "reset-before":
            request.transport.close()
            return web.Response(status=500)
        forwarded = await self._forward(request)
        if forwarded is None:
            return web.Response(status=502, text="the store is down")
        status, headers, body = forwarded
        if fault == "stale-duplicate" and self._batches:
            old_headers, old_body = self._batches[0] if self.rng.random() < 0.5 else self.rng.choice(self._batches)
            await self._send(request.method, request.path_qs, old_headers, old_body)
        if fault == "503-after":
            return web.Response(status=503, text="injected 503 after the store answered")
        if fault == "reset-after":
            request.transport.close()
            return web.Response(status=500)
        if fault == "slow":
            await asyncio.sleep(self.rng.uniform(0.1, SLOW_MAX))
        if fault == "truncated" and body:
            response = web.StreamResponse(status=status, headers={**headers, "Content-Length": str(len(body))})
            await response.prepare(request)
            await response.write(body[: len(body) // 2])
            request.transport.close()
            return response
        return web.Response(status=status, headers=headers, body=body)

    async def _forward(self, request: web.Request):
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        put = request.method == "PUT"
        data = self._stream(request) if put else await request.read()
        if request.method == "POST" and request.path == "/v1/batches":
            self._batches = [*self._batches[-KEEP + 1 :], (headers, data)]
        self.puts_in_flight += put
        try:
            return await self._send(request.method, request.path_qs, headers, data)
        finally:
            self.puts_in_flight -= put

    async def _send(self, method: str, path_qs: str, headers: dict, data):
        """(status, headers, body) of the store's answer; None when the store cannot be reached."""
        try:
            async with self._session.request(method, self.upstream + path_qs, data=data, headers=headers) as up:
                body = await up.read()
                answer = {k: v for k, v in up.headers.items() if k.lower() not in HOP_BY_HOP}
                return up.status, answer, body
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
            return None

    async def _stream(self, request: web.Request):
        async for chunk in request.content.iter_chunked(CHUNK):
            if self.put_chunk_delay:
                await asyncio.sleep(self.put_chunk_delay)
            yield chunk
        if self.hold_put_end:
            self.held += 1
            await asyncio.wait_for(self._abort.wait(), 60)
            raise ConnectionAbortedError("held upload aborted")
