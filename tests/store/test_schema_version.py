"""The store database's schema version: recorded when created, kept by a database of an older
layout through its upgrade steps (data intact), and a newer database refused, on both backends."""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest
from store_helpers import request

from neptune_sync.oplog import ops
from neptune_sync.oplog.framing import Entry
from neptune_sync_store.storage import make_storage, schema


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


async def open_close(backend, tmp_path, *, write: bool = False):
    db, pg_schema = backend
    storage = make_storage(db, tmp_path, pg_schema=pg_schema)
    await storage.open()
    try:
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
    await sql(backend, tmp_path, "DROP TABLE schema_version")  # a database from before versioning
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
    await sql(backend, tmp_path, "DROP TABLE schema_version")
    await sql(backend, tmp_path, "DROP TABLE set_members")
    await sql(backend, tmp_path, "DROP TABLE series_chunks")
    await open_close(backend, tmp_path)
    assert await sql(backend, tmp_path, "SELECT version FROM schema_version") == schema.VERSION
    assert await sql(backend, tmp_path, "SELECT count(*) FROM set_members") == 2
    assert await sql(backend, tmp_path, "SELECT min(member) FROM set_members") == "a"
    assert await sql(backend, tmp_path, "SELECT sum(n) FROM series_chunks") == 600
    assert await sql(backend, tmp_path, "SELECT count(*) FROM series_chunks") == chunked == 3
