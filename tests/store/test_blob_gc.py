"""Blob garbage collection: unreferenced blobs past the grace period go, referenced or recently
touched ones stay, abandoned partials expire, and a commit in flight is never collected; on each
database and each blob backend (a local directory, S3 on a real S3 API server)."""

from __future__ import annotations

import asyncio
import io
import os
import time
import uuid

import aiohttp
import anyio
import asyncpg
import pytest
import pytest_asyncio
from store_helpers import PROJECT, TIMEOUT, auth, encode, request, require_pg, sha

from neptune_sync.cli import main
from neptune_sync.wire import ops
from neptune_sync.wire.ops import Entry
from neptune_sync.wire.protocol import RunInfo
from neptune_sync_store.blob_backends.s3 import part_size
from neptune_sync_store.blobgc import BlobLock, collect
from neptune_sync_store.blobs import partial_owner
from neptune_sync_store.context import CONTEXT
from neptune_sync_store.testing import running_store

pytestmark = pytest.mark.asyncio
LATER = 10 * 86_400  # "now" for a collection that finds every touch stale


async def put(session, store, token, data, upto=None, project=PROJECT):
    headers = {**auth(token), "X-Blob-Size": str(len(data)), "X-Upload-Offset": "0"}
    params = {"project": project}
    body = io.BytesIO(data if upto is None else data[:upto])
    async with session.put(
        f"{store.url}/v1/blobs/{sha(data)}", data=body, params=params, headers=headers, timeout=TIMEOUT
    ) as resp:
        return resp.status


async def reference(session, store, token, run_key, op):
    body = encode(request([Entry(1, 1.0, op)], RunInfo(PROJECT, run_key, run_key.upper())))
    async with session.post(
        f"{store.url}/v1/batches", data=body, headers=auth(token), timeout=TIMEOUT
    ) as resp:
        assert resp.status == 200, await resp.read()


def ref(data: bytes, name: str = "f.bin") -> ops.FileRef:
    return ops.FileRef(sha(data), len(data), name, "bin")


async def held(store, digest: str) -> bool:
    return await store.app[CONTEXT].blobs.size(digest) is not None


def gc_of(store, **kwargs):  # type: ignore[no-untyped-def]
    ctx = store.app[CONTEXT]
    return collect(ctx.storage, ctx.blobs, lock=BlobLock(ctx.config.gc_lock), **kwargs)


@pytest_asyncio.fixture(
    params=["sqlite-local", pytest.param("postgres-local", marks=pytest.mark.postgres), "sqlite-s3"]
)
async def gc_store(request, tmp_path, monkeypatch):
    """A live store on each database and blob backend."""
    database, blobs = request.param.split("-")
    db, schema = (None, "public")
    if database == "postgres":
        db, schema = await require_pg(), f"nss_test_{uuid.uuid4().hex[:12]}"
    location = None
    if blobs == "s3":
        server = request.getfixturevalue("s3_server")
        for name, value in server.env.items():
            monkeypatch.setenv(name, value)
        location = server.location(f"gc-{uuid.uuid4().hex}")
    async with running_store(tmp_path / "store", db=db, pg_schema=schema, blobs=location) as running:
        yield running
    if db is not None:
        conn = await asyncpg.connect(db)
        try:
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await conn.close()


def partial_size(store) -> int:  # type: ignore[no-untyped-def]
    """A blob size whose cut upload leaves a partial on the store's backend (S3 keeps whole parts)."""
    return part_size(1) + 100 if hasattr(store.app[CONTEXT].blobs, "bucket") else 1000


async def test_collection_keeps_referenced_and_recent_blobs(gc_store):
    store = gc_store
    token = await store.token(PROJECT)
    kept_file, kept_set, kept_series, garbage = (os.urandom(100 + i) for i in range(4))
    async with aiohttp.ClientSession() as s:
        for data in (kept_file, kept_set, kept_series, garbage):
            assert await put(s, store, token, data) == 201
        await reference(s, store, token, "a", ops.AssignFile("f", ref(kept_file)))
        await reference(
            s, store, token, "b", ops.UploadFileSet("set", (ops.FileSetEntry("x.bin", ref(kept_set)),))
        )
        await reference(s, store, token, "c", ops.LogFiles("s", (ops.FilePoint(0.0, ref(kept_series), 1.0),)))
    blobs = store.app[CONTEXT].blobs
    ttl = store.app[CONTEXT].config.partial_ttl
    soon = await gc_of(store, partial_ttl=ttl)  # everything was touched just now
    assert soon.blobs == [] and soon.kept_recent == 1 and soon.kept_referenced == 3
    dry = await gc_of(store, partial_ttl=ttl, dry_run=True, now=time.time() + LATER)
    assert dry.blobs == [sha(garbage)] and await held(store, sha(garbage))
    report = await gc_of(store, partial_ttl=ttl, now=time.time() + LATER)
    assert report.blobs == [sha(garbage)] and report.blob_bytes == len(garbage)
    assert await blobs.shas() == sorted(sha(d) for d in (kept_file, kept_set, kept_series))
    assert not await store.storage.owns_blob(PROJECT, sha(garbage))
    async with aiohttp.ClientSession() as s:  # the project may upload it again, and holds it again
        assert await put(s, store, token, garbage) == 201


async def test_abandoned_partials_expire_and_fresh_ones_stay(gc_store):
    store = gc_store
    token = await store.token(PROJECT)
    size = partial_size(store)
    stale, fresh = os.urandom(size), os.urandom(size)
    blobs = store.app[CONTEXT].blobs
    async with aiohttp.ClientSession() as s:
        assert await put(s, store, token, stale, upto=size - 10) == 202
        await asyncio.sleep(3)  # S3 keeps times to the second
        assert await put(s, store, token, fresh, upto=size - 10) == 202
    stale_bytes = await blobs.received(sha(stale), partial_owner(PROJECT))
    assert stale_bytes > 0
    report = await gc_of(store, partial_ttl=2)
    assert report.partials == 1 and report.partial_bytes == stale_bytes
    assert [(p.owner, p.sha256) for p in await blobs.partials()] == [(partial_owner(PROJECT), sha(fresh))]


async def test_a_commit_holding_the_lock_is_never_collected(store):
    """Collection deletes under the exclusive lock; a committing upload holds it shared until its
    project owns the blob: the collection waits, then finds the fresh owner and keeps the blob."""
    token = await store.token(PROJECT)
    data = os.urandom(500)
    async with aiohttp.ClientSession() as s:
        assert await put(s, store, token, data) == 201
    lock = BlobLock(store.app[CONTEXT].config.gc_lock)
    async with lock.shared():  # an upload committing right now
        task = asyncio.create_task(gc_of(store, grace=60, partial_ttl=86_400, now=time.time() + LATER))
        await asyncio.sleep(0.3)
        assert not task.done() and await held(store, sha(data))  # waiting for the commit
        await store.storage.own_blob(PROJECT, sha(data), time.time() + LATER)  # the commit's owner row
    report = await task
    assert report.blobs == [] and await held(store, sha(data))


async def test_gc_command_beside_a_running_store(store, capsys):
    token = await store.token(PROJECT)
    data = os.urandom(100)
    async with aiohttp.ClientSession() as s:
        assert await put(s, store, token, data) == 201
    data_dir = str(store.app[CONTEXT].config.data_dir)
    code = await anyio.to_thread.run_sync(main, ["server", "gc", "--data", data_dir, "--grace", "0"])
    assert code == 0
    assert "deleted 1 unreferenced blobs (100 bytes)" in capsys.readouterr().out
    assert not await held(store, sha(data))
