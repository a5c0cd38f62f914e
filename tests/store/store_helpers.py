"""Builders and HTTP helpers shared by the store tests (on sys.path via this folder's conftest)."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import inspect
import io
import os
import random
import select
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest

from neptune_sync.wire import ops
from neptune_sync.wire.ops import Entry
from neptune_sync.wire.protocol import (
    BatchRequest,
    BatchResponse,
    RunInfo,
    batch_request_encoder,
    batch_response_decoder,
)
from neptune_sync_store.testing import postgres_candidates, reachable_postgres

PROJECT = "ws/proj"
RUN = RunInfo(PROJECT, "run-key-1", "RUN-1", custom_run_id="custom-1")
TIMEOUT = aiohttp.ClientTimeout(total=30)


def floats(path: str, seq: int, steps: range, ts: float = 100.0) -> Entry:
    return Entry(
        seq, ts, ops.LogFloats(path, tuple(ops.FloatPoint(float(s), s * 0.5, ts + s) for s in steps))
    )


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sample_entries() -> list[Entry]:
    """A mix of every op kind, seqs 1..N contiguous (series entries occupy one seq per point)."""
    ref = ops.FileRef(sha(b"hello"), 5, "hello.txt", "txt")
    items: list[ops.Op] = [
        ops.AssignString("sys/name", "exp"),
        ops.AddStrings("sys/tags", ("a", "b")),
        ops.AssignString("sys/state", "Active"),
        ops.AssignFloat("params/lr", 0.01),
        ops.AssignInt("params/batch", 64),
        ops.AssignBool("params/flag", True),
        ops.AssignDatetime("params/when", dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)),
        ops.AssignFile("files/readme", ref),
        ops.LogStrings("logs/text", (ops.StringPoint(0.0, "x", 1.0), ops.StringPoint(1.0, "y", 2.0))),
        ops.UploadFileSet("files/set", (ops.FileSetEntry("d/hello.txt", ref),)),
        ops.RemoveStrings("sys/tags", ("b",)),
        ops.TrackArtifact(
            "data/art", (ops.ArtifactEntry("a.csv", sha(b"a"), 1, 1.0, "/tmp/a.csv"),), sha(b"art")
        ),
    ]
    entries: list[Entry] = []
    seq = 1
    for op in items:
        entries.append(Entry(seq, 10.0 + seq, op))
        seq += ops.op_point_count(op)
    for k in range(3):
        e = floats(f"metrics/m{k}", seq, range(0, 50))
        entries.append(e)
        seq = e.last_seq + 1
    entries.append(Entry(seq, 99.0, ops.ClearSeries("metrics/m2")))
    entries.append(floats("metrics/m2", seq + 1, range(10, 20)))
    return entries


def request(entries: list[Entry], run: RunInfo = RUN, writer: str = "w1", after: float | None = None) -> BatchRequest:
    return BatchRequest(run, writer, entries, after)


def encode(req: BatchRequest) -> bytes:
    return batch_request_encoder.encode(req)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def post_raw(
    session: aiohttp.ClientSession, url: str, token: str | None, body: Any
) -> tuple[int, dict[str, Any] | BatchResponse, Any]:
    """POST a batch body; returns (status, decoded JSON error or BatchResponse, headers)."""
    headers = {"Content-Type": "application/msgpack", **(auth(token) if token else {})}
    async with session.post(f"{url}/v1/batches", data=body, headers=headers, timeout=TIMEOUT) as resp:
        raw = await resp.read()
        if resp.status == 200:
            return resp.status, batch_response_decoder.decode(raw), resp.headers
        return resp.status, msgspec.json.decode(raw), resp.headers


async def post_batch(
    session: aiohttp.ClientSession, url: str, token: str, req: BatchRequest
) -> BatchResponse:
    status, body, _ = await post_raw(session, url, token, encode(req))
    assert status == 200, body
    assert isinstance(body, BatchResponse)
    return body


async def put_blob(session: aiohttp.ClientSession, url: str, token: str, data: bytes) -> int:
    headers = {**auth(token), "X-Blob-Size": str(len(data))}
    async with session.put(
        f"{url}/v1/blobs/{sha(data)}", data=io.BytesIO(data), headers=headers, timeout=TIMEOUT
    ) as resp:
        return resp.status


def split_overlapping(entries: list[Entry], seed: int) -> list[list[Entry]]:
    """Random batches over ``entries`` where each batch may re-send part of the previous one."""
    rng = random.Random(seed)
    batches, start = [], 0
    while start < len(entries):
        end = min(len(entries), start + rng.randint(1, 5))
        back = rng.randint(0, start)
        batches.append(entries[back:end])
        start = end
    return batches


CLI = [sys.executable, "-m", "neptune_sync.cli"]


def start_server(data: Path, *extra: str, wait: float = 20) -> tuple[subprocess.Popen, str]:
    """A ``neptune-sync server`` process on a free port, and its URL (within ``wait`` seconds)."""
    proc = subprocess.Popen(
        [*CLI, "server", "--port", "0", "--data", str(data), *extra], stdout=subprocess.PIPE, text=True
    )
    ready, _, _ = select.select([proc.stdout], [], [], wait)
    if not ready:
        proc.kill()
        proc.wait(10)
        proc.stdout.close()
        pytest.fail(f"server printed no URL within {wait:g} s")
    return proc, proc.stdout.readline().strip()


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()


_PG_DSN: list[str | None] = []


async def reachable_pg() -> str | None:
    """The PostgreSQL DSN of this test session (probed once)."""
    if not _PG_DSN:
        dsn, errors = await reachable_postgres()
        _PG_DSN.append(dsn)
        if dsn is None:
            print("PostgreSQL unreachable:", "; ".join(errors))
    return _PG_DSN[0]


async def require_pg() -> str:
    """A reachable PostgreSQL DSN; skip (fail under CI=true, where one must be) if there is none."""
    dsn = await reachable_pg()
    if dsn is None:
        message = (
            f"no PostgreSQL reachable at {postgres_candidates()} (start one, or set NEPTUNE_SYNC_TEST_PG)"
        )
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message + "; CI must run the PostgreSQL backend")
        pytest.skip(message)
    return dsn


async def until(condition, interval: float = 0.01) -> None:
    """Poll ``condition`` (a function, or one returning an awaitable) until it holds (callers
    bound this with ``asyncio.wait_for``)."""
    while True:
        held = condition()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        await asyncio.sleep(interval)


def dumped_content(dump: bytes) -> dict[str, tuple[str, object]]:
    """The one run of a store dump as {path: (type, value)}, series as [(step, value, ts)]."""
    [run] = msgspec.msgpack.decode(dump)
    out = {}
    for path, ftype, data, _num, _txt, last_step, points in run[-1]:
        value = None if data is None else msgspec.msgpack.decode(data, type=object)
        if ftype in ops.SERIES_TYPES:
            series = [
                (step, num if ftype == "floatSeries" else msgspec.msgpack.decode(raw), ts)
                for step, ts, num, raw in points
            ]
            assert (last_step, value) == ((series[-1][0], series[-1][1]) if series else (None, None))
            value = series
        out[path] = (ftype, value)
    return out
