"""Stateless store processes: two real ``neptune-sync server`` processes over one PostgreSQL schema
and one S3 bucket (SeaweedFS), a daemon whose consecutive requests alternate between them (a
round-robin proxy, as a load balancer without affinity does), and the store compared with the
local read-back of every run, field by field and point by point."""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from pathlib import Path

import aiohttp
import anyio
import pytest
from aiohttp import web
from store_helpers import start_server, stop

from neptune_sync.wire import ops as o
from neptune_sync_store.blob_backends.s3 import part_size
from neptune_sync_store.storage import make_storage
from neptune_sync_store.testing import reachable_postgres
from neptune_syncd.batching import BatchPolicy
from neptune_syncd.config import DaemonConfig
from neptune_syncd.notify import Notifier
from neptune_syncd.service import Service
from neptune_syncd.sinks.http import HttpSink

pytestmark = [pytest.mark.asyncio, pytest.mark.postgres]
PROJECT = "team/proj"
HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}


class RoundRobin:
    """An HTTP proxy sending each request to the next store in turn; counts what each one got."""

    def __init__(self, upstreams: list[str]) -> None:
        self.upstreams = upstreams
        self.turn = 0
        self.served: dict[str, list[str]] = {u: [] for u in upstreams}
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        upstream = self.upstreams[self.turn % len(self.upstreams)]
        self.turn += 1
        self.served[upstream].append(f"{request.method} {request.path}")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        body = await request.read()
        async with (
            aiohttp.ClientSession(auto_decompress=False) as session,
            session.request(
                request.method,
                upstream + request.path_qs,
                headers=headers,
                data=io.BytesIO(body),
                allow_redirects=False,
            ) as resp,
        ):
            payload = await resp.read()
            out = {k: v for k, v in resp.headers.items() if k.lower() not in HOP_HEADERS}
            return web.Response(status=resp.status, headers=out, body=payload)


async def require_pg() -> str:
    dsn, errors = await reachable_postgres()
    if dsn is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI must run the PostgreSQL backend: {errors}")
        pytest.skip(f"no PostgreSQL reachable: {errors}")
    return dsn


async def caught_up(storage, runs, paths: list[Path]) -> bool:
    """Every writer of every run is applied up to its last seq (the store's own record)."""
    from neptune_sync.oplog.layout import segments_dir
    from neptune_sync.oplog.reader import read_run

    for path in paths:
        last: dict[str, int] = {}
        for header, entry in read_run(segments_dir(path)):
            last[header.writer_id] = max(last.get(header.writer_id, 0), entry.last_seq)
        for writer, seq in last.items():
            if await storage.acked_seq(PROJECT, path.name, writer) < seq:
                return False
    return True


def synced(service: Service, n_runs: int) -> bool:
    states = [r.state for r in service.replicators.values()]
    return len(states) == n_runs and all(s.updated and not s.pending_ops for s in states)


async def test_a_daemon_alternating_between_two_store_processes_stores_its_logs_exactly(
    runs, tmp_path, monkeypatch, s3_server
):
    dsn = await require_pg()
    schema = f"nss_scale_{uuid.uuid4().hex[:12]}"
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    shared = ["--db", dsn, "--pg-schema", schema, "--blobs", s3_server.location(f"scale-{uuid.uuid4().hex}")]
    token_file = tmp_path / "token"
    stores = [
        start_server(
            tmp_path / "s0", *shared, "--token-project", PROJECT, "--token-file", str(token_file), wait=30
        ),
        start_server(tmp_path / "s1", *shared, wait=30),
    ]
    paths = [runs.create(f"scale{i}") for i in range(3)]
    big = os.urandom(part_size(1) + (3 << 20))  # a multipart upload, its parts sent through both stores
    for i, path in enumerate(paths):
        runs.all_types(path, points=20_000)
        w = runs.writer(path)  # a second writer of the same run
        w.append(o.AssignFile("model/big", runs.file_ref(path, big, "big.bin")))
        for step in range(5_000):  # one entry per point: batches cut every few hundred entries
            w.append(o.LogFloats("train/second", (o.FloatPoint(step, step * 0.5 + i, 1.8e9 + step),)))
            if step % 100 == 0:
                w.append(o.AssignInt("train/epoch", step // 100))
        w.close()
    config = DaemonConfig(
        data_dir=str(runs.root),
        poll_interval=0.01,
        backoff_base=0.001,
        backoff_cap=0.01,
        batch=BatchPolicy(max_ops=997, max_bytes=16 << 10),  # many batches per writer, spread over both
    )
    storage = make_storage(dsn, tmp_path, pg_schema=schema)
    await storage.open()
    proxy = RoundRobin([url for _, url in stores])
    app = web.Application(client_max_size=64 << 20)
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        proxy.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        service = Service(config, HttpSink(proxy.url, token_file.read_text().strip()), Notifier({}))
        async with anyio.create_task_group() as tg:
            await tg.start(service.run)
            with anyio.fail_after(120):
                while not synced(service, len(paths)) or not await caught_up(storage, runs, paths):
                    await anyio.sleep(0.05)
            await service.stop()
    finally:
        await runner.cleanup()
        for proc, _ in stores:
            assert stop(proc) == 0
    try:
        for path in paths:
            got = await runs.store_view(storage, path.name, PROJECT)
            want = runs.normalized(runs.expected(path))
            assert got.keys() == want.keys()
            for field in want:
                assert got[field] == want[field], field  # no op lost, none applied twice
            assert len(got["train/loss"][1]) == 20_000 and len(got["train/second"][1]) == 5_000
        await assert_blob_served_by_a_fresh_store(shared, tmp_path, token_file, big)
        batches = [sum(r == "POST /v1/batches" for r in served) for served in proxy.served.values()]
        assert min(batches) >= 40, batches  # each process applied a share of the writers' batches
    finally:
        await storage.drop_schema()
        await storage.close()


async def assert_blob_served_by_a_fresh_store(shared, tmp_path: Path, token_file: Path, big: bytes) -> None:
    """The multipart blob reads back byte for byte from a third store process on the same bucket."""
    proc, url = start_server(tmp_path / "s2", *shared, wait=30)
    try:
        headers = {"Authorization": f"Bearer {token_file.read_text().strip()}"}
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{url}/v1/blobs/{hashlib.sha256(big).hexdigest()}", headers=headers) as resp,
        ):
            assert resp.status == 200 and await resp.read() == big
    finally:
        assert stop(proc) == 0
