"""Storage failures that mean "unavailable" are 503s (retried for ever by the daemon); a failure a
request causes is a 500 (after a few in a row the daemon isolates the op). Real exceptions only."""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest
from store_helpers import require_pg

from neptune_sync_store.outage import is_outage


def sqlite_error(tmp_path, sql: str, uri: str = "") -> sqlite3.Error:
    db = tmp_path / "x.sqlite3"
    sqlite3.connect(db).execute("CREATE TABLE IF NOT EXISTS t(x)").connection.close()
    conn = sqlite3.connect(f"file:{db}{uri}", uri=True)
    try:
        conn.execute(sql)
    except sqlite3.Error as exc:
        return exc
    finally:
        conn.close()
    raise AssertionError(f"{sql} did not fail")


def test_sqlite_read_only_database_is_an_outage_and_bad_sql_is_not(tmp_path):
    assert is_outage(sqlite_error(tmp_path, "INSERT INTO t VALUES (1)", "?mode=ro"))
    assert not is_outage(sqlite_error(tmp_path, "SELECT nope FROM t"))
    assert is_outage(OSError(28, "No space left on device"))
    assert not is_outage(ValueError("a store bug"))


@pytest.mark.asyncio
@pytest.mark.postgres
async def test_postgres_lost_connection_is_an_outage_and_a_query_error_is_not():
    conn = await asyncpg.connect(await require_pg())
    try:
        with pytest.raises(asyncpg.PostgresError) as bad:
            await conn.execute("SELECT 1/0")
        assert not is_outage(bad.value)
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, OSError)) as gone:
            await conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        assert is_outage(gone.value)
    finally:
        await conn.close()
