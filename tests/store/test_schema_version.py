"""The store database's schema version: recorded when created, kept by a database of an older
layout through its upgrade steps (data intact), and a newer database refused, on both backends."""

from __future__ import annotations

import os
import sqlite3

import aiohttp
import asyncpg
import pytest
from store_helpers import PROJECT, RUN, TIMEOUT, auth, request, sha

from neptune_sync.wire import ops
from neptune_sync.wire.ops import Entry
from neptune_sync.wire.protocol import RunInfo
from neptune_sync_store.auth import SCOPES, TokenAuth
from neptune_sync_store.blob_backends.local import LocalBlobBackend
from neptune_sync_store.storage import chunks, make_storage, schema, summaries
from neptune_sync_store.testing import running_store


async def sql(backend, tmp_path, statement: str):
    """Run one statement on the database behind ``backend`` directly; returns its first value."""
    db, pg_schema = backend
    if db is None:
        conn = sqlite3.connect(tmp_path / "store.sqlite3", isolation_level=None)
        try:
            row = conn.execute(statement).fetchone()
            return row[0] if row else None
        finally:
            conn.close()
    conn = await asyncpg.connect(db, server_settings={"search_path": pg_schema})
    try:
        return await conn.fetchval(statement)
    finally:
        await conn.close()


VERSION_2_ADDED = (  # what a version-1 database lacks that SCHEMA cannot add (STEPS[2]) or fills
    "DROP TABLE blob_owners",
    "DROP TABLE set_members",
    "DROP TABLE series_chunks",
    "ALTER TABLE tokens DROP COLUMN name",
    "ALTER TABLE tokens DROP COLUMN expires",
    "ALTER TABLE tokens DROP COLUMN last_used",
)


VERSION_3_ADDED = ("DROP TABLE series_summaries",)


async def to_version_1(backend, tmp_path) -> None:
    """Turn a current database into the version-1 layout (no version row, no later additions)."""
    for statement in ("DROP TABLE schema_version", *VERSION_3_ADDED, *VERSION_2_ADDED):
        await sql(backend, tmp_path, statement)


async def to_version_2(backend, tmp_path) -> None:
    for statement in ("UPDATE schema_version SET version = 2", *VERSION_3_ADDED):
        await sql(backend, tmp_path, statement)


async def open_close(backend, tmp_path, *, write: bool = False, read: bool = False):
    """Open the store (upgrading it), write the sample fields if ``write``; returns the buckets of
    "loss" at several widths if ``read``."""
    db, pg_schema = backend
    storage = make_storage(db, tmp_path, pg_schema=pg_schema)
    await storage.open()
    try:
        if read:
            return [
                await storage.series_buckets(
                    PROJECT, RUN.run_key, "loss", x="step", start=start, stop=599, buckets=n
                )
                for start, n in ((0, 1), (0, 3), (0, 599), (1.5, 7), (250, 2))
            ]
        if write:
            entries = [
                Entry(1, 1.0, ops.AssignString("note", "kept")),
                Entry(2, 1.0, ops.AddStrings("sys/tags", ("b", "a"))),
                Entry(
                    3,
                    1.0,
                    ops.LogFloats("loss", tuple(ops.FloatPoint(float(i), i / 2, 1.0) for i in range(600))),
                ),
            ]
            await storage.apply_batch(request(entries))
    finally:
        await storage.close()


@pytest.mark.asyncio
async def test_a_new_database_records_the_current_version(backend, tmp_path):
    await open_close(backend, tmp_path)
    assert await sql(backend, tmp_path, "SELECT version FROM schema_version") == schema.VERSION
    await open_close(backend, tmp_path)  # reopening changes nothing
    assert await sql(backend, tmp_path, "SELECT count(*) FROM schema_version") == 1


@pytest.mark.asyncio
async def test_an_unversioned_database_is_version_1_and_upgrades_through_each_step(
    backend, tmp_path, monkeypatch
):
    await open_close(backend, tmp_path, write=True)
    await to_version_1(backend, tmp_path)  # a database from before versioning
    step = "ALTER TABLE runs ADD COLUMN upgraded TEXT NOT NULL DEFAULT 'yes'"
    nxt = schema.VERSION + 1
    with monkeypatch.context() as patch:
        patch.setattr(schema, "VERSION", nxt)
        patch.setattr(schema, "STEPS", {**schema.STEPS, nxt: (step, step)})
        await open_close(backend, tmp_path)
        assert await sql(backend, tmp_path, "SELECT version FROM schema_version") == nxt
        assert await sql(backend, tmp_path, "SELECT upgraded FROM runs") == "yes"
        assert await sql(backend, tmp_path, "SELECT txt FROM fields WHERE path = 'note'") == "kept"
        await open_close(backend, tmp_path)  # at the new version: the step does not run again


@pytest.mark.asyncio
async def test_a_failing_step_leaves_the_database_as_it_was(backend, tmp_path, monkeypatch):
    await open_close(backend, tmp_path, write=True)
    bad = "ALTER TABLE no_such_table ADD COLUMN x TEXT"
    nxt = schema.VERSION + 1
    with monkeypatch.context() as patch, pytest.raises((sqlite3.Error, asyncpg.PostgresError)):
        patch.setattr(schema, "VERSION", nxt)
        patch.setattr(schema, "STEPS", {**schema.STEPS, nxt: (bad, bad)})
        await open_close(backend, tmp_path)
    assert await sql(backend, tmp_path, "SELECT version FROM schema_version") == schema.VERSION
    assert await sql(backend, tmp_path, "SELECT txt FROM fields WHERE path = 'note'") == "kept"


@pytest.mark.asyncio
async def test_a_database_of_a_newer_store_is_refused(backend, tmp_path):
    await open_close(backend, tmp_path)
    await sql(backend, tmp_path, f"UPDATE schema_version SET version = {schema.VERSION + 1}")
    with pytest.raises(schema.SchemaVersionError, match="newer than this store"):
        await open_close(backend, tmp_path)
    assert await sql(backend, tmp_path, "SELECT version FROM schema_version") == schema.VERSION + 1


@pytest.mark.asyncio
async def test_a_version_1_database_gets_its_derived_tables_filled(backend, tmp_path):
    """Version 1 had no ``set_members`` (CONTAINS filters read it) nor ``series_chunks`` (bucketed
    reads do): the upgrade derives both from what the database holds."""
    await open_close(backend, tmp_path, write=True)
    chunked = await sql(backend, tmp_path, "SELECT count(*) FROM series_chunks")
    await to_version_1(backend, tmp_path)
    await open_close(backend, tmp_path)
    assert await sql(backend, tmp_path, "SELECT version FROM schema_version") == schema.VERSION
    assert await sql(backend, tmp_path, "SELECT count(*) FROM set_members") == 2
    assert await sql(backend, tmp_path, "SELECT min(member) FROM set_members") == "a"
    assert await sql(backend, tmp_path, "SELECT sum(n) FROM series_chunks") == 600
    assert await sql(backend, tmp_path, "SELECT count(*) FROM series_chunks") == chunked == 3
    nodes = "SELECT count(*) || ' ' || sum(n) || ' ' || max(level) FROM series_summaries"
    assert await sql(backend, tmp_path, nodes) == "1 600 1"  # 3 chunks: one node, one level


@pytest.mark.asyncio
async def test_a_version_2_database_gets_summary_levels_that_read_as_before(backend, tmp_path, monkeypatch):
    """Version 2 had no ``series_summaries`` (bucketed reads walk it): the upgrade derives every
    level from the chunks, and reads give what they gave before the downgrade."""
    monkeypatch.setattr(chunks, "CHUNK_POINTS", 5)  # 120 chunks, 4 levels of 2-node groups
    monkeypatch.setattr(summaries, "FANOUT", 2)
    monkeypatch.setattr(summaries, "LEVELS", 4)
    await open_close(backend, tmp_path, write=True)
    before = await open_close(backend, tmp_path, read=True)
    by_level = "SELECT string_agg(level || ':' || n, ',') FROM (SELECT level, sum(n) AS n FROM series_summaries GROUP BY level ORDER BY level) s"
    if backend[0] is None:
        by_level = by_level.replace("string_agg", "group_concat")
    assert await sql(backend, tmp_path, by_level) == "1:600,2:600,3:600,4:600"
    await to_version_2(backend, tmp_path)
    assert await open_close(backend, tmp_path, read=True) == before
    assert await sql(backend, tmp_path, "SELECT version FROM schema_version") == schema.VERSION
    assert await sql(backend, tmp_path, by_level) == "1:600,2:600,3:600,4:600"
    assert await sql(backend, tmp_path, "SELECT count(*) FROM series_summaries WHERE level = 4") == 8


@pytest.mark.asyncio
async def test_a_version_1_database_upgrades_with_its_tokens_working_and_its_blobs_visible(backend, tmp_path):
    """Version 1 had tokens without name / expires / last_used and no ``blob_owners``: the upgrade
    adds the columns (old tokens keep working) and gives each project the blobs its runs reference."""
    files = {name: os.urandom(100 + n) for n, name in enumerate(("file", "set", "series", "other"))}
    refs = {name: ops.FileRef(sha(data), len(data), f"{name}.bin", "bin") for name, data in files.items()}
    db, pg_schema = backend
    storage = make_storage(db, tmp_path, pg_schema=pg_schema)
    await storage.open()
    try:
        entries = [
            Entry(1, 1.0, ops.AssignFile("f", refs["file"])),
            Entry(2, 1.0, ops.UploadFileSet("set", (ops.FileSetEntry("x.bin", refs["set"]),))),
            Entry(3, 1.0, ops.LogFiles("s", (ops.FilePoint(0.0, refs["series"], 1.0),))),
        ]
        await storage.apply_batch(request(entries))
        other = RunInfo("ws/other", "o", "O")
        await storage.apply_batch(request([Entry(1, 1.0, ops.AssignFile("f", refs["other"]))], other))
        token = await TokenAuth(storage).mint(PROJECT, SCOPES, "http://127.0.0.1:1")
    finally:
        await storage.close()
    blobs = LocalBlobBackend(tmp_path / "blobs")
    for data in files.values():
        await blobs.receive(sha(data), len(data), 0, pieces(data))
    await to_version_1(backend, tmp_path)

    async with running_store(tmp_path, db=db, pg_schema=pg_schema) as store, aiohttp.ClientSession() as s:
        assert await sql(backend, tmp_path, "SELECT version FROM schema_version") == schema.VERSION
        for name in ("file", "set", "series"):
            url = f"{store.url}/v1/blobs/{sha(files[name])}"
            async with s.get(url, params={"project": PROJECT}, headers=auth(token), timeout=TIMEOUT) as resp:
                assert resp.status == 200 and await resp.read() == files[name], name
        async with s.get(
            f"{store.url}/v1/run/file",
            params={"project": PROJECT, "run": RUN.run_key, "path": "f"},
            headers=auth(token),
            timeout=TIMEOUT,
        ) as resp:
            assert resp.status == 200 and await resp.read() == files["file"]
        url = f"{store.url}/v1/blobs/{sha(files['other'])}"  # another project's blob stays its own
        async with s.head(url, params={"project": PROJECT}, headers=auth(token), timeout=TIMEOUT) as resp:
            assert resp.status == 404
        assert await store.storage.owns_blob("ws/other", sha(files["other"]))
    owners = await sql(backend, tmp_path, "SELECT count(*) FROM blob_owners")
    assert owners == 4


async def pieces(data: bytes):
    yield data
