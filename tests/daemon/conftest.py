"""Fixtures for the daemon tests: runs with every field type written by the real writer."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import anyio
import msgspec
import pytest
import pytest_asyncio
from aiohttp import web

sys.path.insert(0, str(Path(__file__).parent))  # readback_helpers, store_model
sys.path.insert(0, str(Path(__file__).parents[1] / "store"))  # store_helpers (the server process)

from store_model import MemoryStore

from neptune_sync.oplog.blobs import RunBlobs
from neptune_sync.oplog.layout import (
    RunIdentity,
    blobs_dir,
    claim_identity,
    run_dir,
    run_key_for,
    segments_dir,
)
from neptune_sync.oplog.reader import read_run
from neptune_sync.oplog.writer import OpLogWriter
from neptune_sync.wire import ops as o
from neptune_sync.wire.ops import Entry
from neptune_sync.wire.protocol import PROTOCOL_HEADER, batch_request_decoder
from neptune_sync_store.storage import make_storage
from neptune_sync_store.testing import running_store
from neptune_syncd.config import DaemonConfig

PROJECT = "team/proj"


def file_dict(ref: o.FileRef) -> dict:
    return {"sha256": ref.sha256, "size": ref.size, "name": ref.name, "extension": ref.extension}


class RunFactory:
    """Creates runs in the test data dir and writes ops through the real log writer."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def create(self, name: str, project: str = PROJECT) -> Path:
        key = run_key_for(project, custom_run_id=name)
        path = run_dir(key, self.root)
        claim_identity(path, RunIdentity(project, key, f"RUN-{name}", name))
        return path

    def writer(self, run_path: Path, **kw: object) -> OpLogWriter:
        ident = claim_identity(run_path, None)  # type: ignore[arg-type]
        return OpLogWriter(
            segments_dir(run_path),
            project=ident.project,
            run_key=ident.run_key,
            run_id=ident.run_id,
            custom_run_id=ident.custom_run_id,
            **kw,
        )

    def file_ref(self, run_path: Path, data: bytes, name: str = "f.bin") -> o.FileRef:
        sha, size = RunBlobs(blobs_dir(run_path)).put_bytes(data)
        return o.FileRef(sha, size, name, name.rpartition(".")[2])

    def all_types(self, run_path: Path, points: int = 300, **kw: object) -> OpLogWriter:
        """Write every op type once (plus a float series of ``points`` points); returns the closed writer."""
        w = self.writer(run_path, **kw)
        ref = self.file_ref(run_path, b"model weights " * 100, "model.pt")
        ref2 = self.file_ref(run_path, b"sample image", "img.png")
        w.append(o.AssignFloat("params/lr", 0.001))
        w.append(o.AssignInt("params/epochs", 10))
        w.append(o.AssignBool("params/shuffle", True))
        w.append(o.AssignString("sys/name", "all types"))
        w.append(o.AssignDatetime("params/start", dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)))
        w.append(o.AssignFile("model/weights", ref))
        for i in range(points):
            w.append_float("train/loss", i, 1.0 / (i + 1), 1_700_000_000.0 + i / 1000)
        w.append(o.LogFloats("train/acc", (o.FloatPoint(0.5, 0.9, 1.0), o.FloatPoint(1.5, 0.95, 2.0))))
        # a repeated step: the store drops that point (rule 5) and keeps the one above it
        w.append(o.LogFloats("train/acc", (o.FloatPoint(1.5, 0.1, 3.0), o.FloatPoint(2.5, 0.97, 4.0))))
        w.append(o.LogStrings("train/log", (o.StringPoint(0, "hello", 1.0), o.StringPoint(1, "world", 2.0))))
        w.append(o.LogFiles("train/images", (o.FilePoint(0, ref2, 1.0),)))
        w.append(o.LogFloats("tmp/series", (o.FloatPoint(0, 1.0, 1.0),)))
        w.append(o.ClearSeries("tmp/series"))
        w.append(o.AddStrings("sys/tags", ("a", "b", "c")))
        w.append(o.RemoveStrings("sys/tags", ("b",)))
        w.append(o.AddStrings("tmp/set", ("x",)))
        w.append(o.ClearStringSet("tmp/set"))
        w.append(o.UploadFileSet("source_code/files", (o.FileSetEntry("main.py", ref2),)))
        w.append(o.UploadFileSet("data/files", (o.FileSetEntry("a.txt", ref), o.FileSetEntry("b.txt", ref2))))
        w.append(o.DeleteFileSetFiles("data/files", ("a.txt",)))
        art = o.ArtifactEntry("data/x.csv", "ab" * 32, 10, 1.0, "/tmp/x.csv")
        w.append(o.TrackArtifact("data/artifact", (art,), "cd" * 32))
        w.append(o.AssignString("tmp/gone", "bye"))
        w.append(o.DeleteField("tmp/gone"))
        w.close()
        return w

    @staticmethod
    def normalized(values: dict) -> dict:
        """The memory model's fields in the store's read-API shapes."""
        out = {}
        for path, (kind, value) in values.items():
            if kind in o.SERIES_TYPES:
                value = [(s, file_dict(v) if isinstance(v, o.FileRef) else v, ts) for s, v, ts in value]
            elif kind == o.FieldType.STRING_SET:
                value = sorted(value)
            elif kind == o.FieldType.FILE_SET:
                value = {rel: file_dict(ref) for rel, ref in sorted(value.items())}
            elif kind == o.FieldType.FILE:
                value = file_dict(value)
            elif kind == o.FieldType.ARTIFACT:
                sha, files = value
                value = {"sha256": sha, "files": [msgspec.structs.asdict(f) for f in files]}
            out[path] = (kind, value)
        return out

    @staticmethod
    async def store_view(storage, run_key: str, project: str = PROJECT) -> dict:
        """Every field of a run as the store serves it, series with all their points."""
        out = {}
        for fv in await storage.field_values(project, run_key, []):
            value = fv.value
            if fv.type in o.SERIES_TYPES:
                page = await storage.series(
                    project,
                    run_key,
                    fv.path,
                    start=-math.inf,
                    stop=math.inf,
                    after=-math.inf,
                    limit=1_000_000,
                )
                value = [tuple(p) for p in page.points]
            out[fv.path] = (fv.type, value)
        return out

    @staticmethod
    def expected(run_path: Path) -> dict[str, tuple[str, object]]:
        """What the store should hold for a run: the records of all its writers applied in the order
        of (order time, writer id, seq), series points one by one (docs/sync-protocol.md); the
        order time of a record is the largest timestamp of its writer's records up to it."""
        records = []
        times: dict[str, float] = {}
        for header, entry in read_run(segments_dir(run_path)):
            writer = header.writer_id
            points = getattr(entry.op, "points", None)
            parts = (
                [(entry.seq + i, p.ts, type(entry.op)(entry.op.path, (p,))) for i, p in enumerate(points)]
                if points
                else [(entry.seq, entry.ts, entry.op)]
            )
            for seq, ts, op in parts:
                times[writer] = max(times.get(writer, -math.inf), ts)
                records.append(((times[writer], writer, seq), op))
        records.sort(key=lambda r: r[0])
        store = MemoryStore()
        store.apply_log("x", [Entry(key[2], key[0], op) for key, op in records])
        return store.values("x")


@pytest.fixture
def runs(isolated_data_dir: Path) -> RunFactory:
    return RunFactory(isolated_data_dir)


@pytest.fixture
def config(isolated_data_dir: Path) -> DaemonConfig:
    return DaemonConfig(
        data_dir=str(isolated_data_dir), poll_interval=0.01, backoff_base=0.001, backoff_cap=0.01
    )


class FaultyProxy:
    """An HTTP proxy on 127.0.0.1 in front of a store that injects faults, in order:

    ``faults`` (one per ``POST /v1/batches``): ``"429"`` (with Retry-After), ``"500"``,
    ``"reset"`` (connection closed before the store sees the batch), ``"hang"`` (no answer within
    the client's timeout), ``"drop"`` (the store applies the batch, the answer is lost).
    ``blob_faults`` (one per ``PUT /v1/blobs/...``): ``"cut"`` (only the first half of the upload
    reaches the store, then the connection is closed). ``fail_paths``: every batch holding an op on
    one of these field paths is answered 500, as a store that fails on that op would.
    Stoppable and restartable on its port.
    """

    FORWARDED = (
        "Authorization",
        "Content-Type",
        PROTOCOL_HEADER,
        "X-Blob-Size",
        "X-Upload-Offset",
        "Retry-After",
    )

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.faults: list[str] = []
        self.blob_faults: list[str] = []
        self.fail_paths: set[str] = set()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.batch_log: list[tuple[float, str, str]] = []  # (monotonic time, fault, run key) per batch
        self.hang = 1.0
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application(client_max_size=1 << 30)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self._session = aiohttp.ClientSession()
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            await self._session.close()
            self._runner = None

    def _fault(self, request: web.Request) -> str:
        if request.method == "POST" and request.path == "/v1/batches" and self.faults:
            return self.faults.pop(0)
        if request.method == "PUT" and self.blob_faults:
            return self.blob_faults.pop(0)
        return ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {k: request.headers[k] for k in self.FORWARDED if k in request.headers}
        self.requests.append((request.method, request.path, headers))
        fault = self._fault(request)
        if request.path == "/v1/batches":
            batch = batch_request_decoder.decode(body)
            self.batch_log.append((time.monotonic(), fault, batch.run.run_key))
            if not fault and any(e.op.path in self.fail_paths for e in batch.entries):
                fault = "500"
        if fault == "429":
            return web.Response(status=429, headers={"Retry-After": "0.05"}, text="slow down")
        if fault in ("500", "503"):
            return web.Response(status=int(fault), text="boom")
        if fault == "hang":
            await asyncio.sleep(self.hang)
        if fault == "reset":
            request.transport.close()
            return web.Response(status=500)
        if fault == "cut":
            body = body[: len(body) // 2]
        async with self._session.request(
            request.method, self.upstream + request.path_qs, data=body, headers=headers
        ) as up:
            data = await up.read()
            answer = {k: up.headers[k] for k in self.FORWARDED if k in up.headers}
        if fault in ("drop", "cut"):
            request.transport.close()
        return web.Response(status=up.status, body=data, headers=answer)


@pytest_asyncio.fixture
async def proxied_store(tmp_path: Path) -> AsyncIterator[tuple[FaultyProxy, object, str]]:
    """The real store on 127.0.0.1 behind a FaultyProxy; yields (proxy, store, token)."""
    async with running_store(tmp_path / "store") as store:
        proxy = FaultyProxy(store.url)
        await proxy.start()
        try:
            yield proxy, store, await store.token(PROJECT)
        finally:
            await proxy.stop()


def toml(values: dict) -> str:
    """A flat TOML document; dict values become tables (enough for the daemon's config)."""
    lines = [
        f"{k} = {v!r}" if not isinstance(v, str) else f'{k} = "{v}"'
        for k, v in values.items()
        if not isinstance(v, dict)
    ]
    for name, table in values.items():
        if isinstance(table, dict):
            lines += [f"[{name}]", *(f"{k} = {v!r}" for k, v in table.items())]
    return "\n".join(lines) + "\n"


class DaemonProcess:
    """``python -m neptune_syncd`` as a child process, with a config file of test-friendly settings."""

    def __init__(self, root: Path, tmp: Path, token: str, **settings: object) -> None:
        self.root = root
        self.config = tmp / "daemon.toml"
        values = {"poll_interval": 0.02, "backoff_base": 0.01, "backoff_cap": 0.2, "shutdown_timeout": 5.0}
        values.update(settings)
        self.config.write_text(toml(values))
        self.env = {**os.environ, "NEPTUNE_API_TOKEN": token, "NEPTUNE_SYNC_DIR": str(root)}
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, **env: str) -> subprocess.Popen[bytes]:
        cmd = [
            sys.executable,
            "-m",
            "neptune_syncd",
            "--data-dir",
            str(self.root),
            "--config",
            str(self.config),
        ]
        proc = subprocess.Popen(
            cmd, env={**self.env, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self.procs.append(proc)
        return proc

    @staticmethod
    async def wait_exit(proc: subprocess.Popen[bytes], timeout: float) -> int:
        """Wait for the child without blocking the event loop (the store may run in it)."""
        with anyio.fail_after(timeout):
            while proc.poll() is None:
                await anyio.sleep(0.02)
        return proc.returncode

    def cleanup(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)
            if proc.stderr:
                proc.stderr.close()


@pytest.fixture
def daemon_process(isolated_data_dir: Path, tmp_path: Path):
    """Factory: ``daemon_process(token, **settings)``; every child is killed and reaped afterwards."""
    made: list[DaemonProcess] = []

    def make(token: str, **settings: object) -> DaemonProcess:
        made.append(DaemonProcess(isolated_data_dir, tmp_path, token, **settings))
        return made[-1]

    yield make
    for d in made:
        d.cleanup()


PG_DSNS = (
    [os.environ["NEPTUNE_SYNC_TEST_PG"]]
    if "NEPTUNE_SYNC_TEST_PG" in os.environ
    else [
        "postgresql://postgres@127.0.0.1:5432/test",
        "postgresql://root@127.0.0.1:5432/test",
    ]
)


async def _reachable_pg() -> str | None:
    import asyncpg

    for dsn in PG_DSNS:
        try:
            conn = await asyncpg.connect(dsn, timeout=3)
        except (OSError, asyncio.TimeoutError, asyncpg.PostgresError):
            continue
        await conn.close()
        return dsn
    return None


@pytest_asyncio.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store_backend(request, tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    """``running_store`` keyword arguments for each storage backend (a fresh PostgreSQL schema)."""
    if request.param == "sqlite":
        yield {}
        return
    dsn = await _reachable_pg()
    if dsn is None:
        message = f"no PostgreSQL reachable at {PG_DSNS}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message + "; CI must run the PostgreSQL backend")
        pytest.skip(message)
    schema = f"nss_daemon_{uuid.uuid4().hex[:12]}"
    yield {"db": dsn, "pg_schema": schema}
    cleanup = make_storage(dsn, tmp_path, pg_schema=schema)
    await cleanup.open()
    await cleanup.drop_schema()
    await cleanup.close()
