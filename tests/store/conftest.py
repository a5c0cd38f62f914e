"""Store test fixtures: a storage backend parametrised over SQLite and PostgreSQL, and live stores.

PostgreSQL tests use ``$NEPTUNE_SYNC_TEST_PG`` (default: 127.0.0.1:5432, database ``test``), each in a
throwaway schema that is dropped afterwards; they skip, saying why, only if no server answers
(and fail instead under ``CI=true``, where the contract suite must run on PostgreSQL).
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

sys.path.insert(0, str(Path(__file__).parent))

from store_helpers import require_pg  # noqa: E402

from neptune_sync_store.storage import make_storage  # noqa: E402
from neptune_sync_store.testing import running_store  # noqa: E402


@pytest_asyncio.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def backend(request, tmp_path):
    """(db, pg_schema) for each backend; the PostgreSQL schema is unique and dropped afterwards."""
    if request.param == "sqlite":
        yield None, "public"
        return
    dsn = await require_pg()
    schema = f"nss_test_{uuid.uuid4().hex[:12]}"
    yield dsn, schema
    conn = await asyncpg.connect(dsn)  # not through the storage: a test may leave it unopenable
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await conn.close()


@pytest_asyncio.fixture
async def storage(backend, tmp_path):
    db, schema = backend
    opened = make_storage(db, tmp_path, pg_schema=schema)
    await opened.open()
    yield opened
    await opened.close()


@pytest_asyncio.fixture
async def store(tmp_path):
    """A live SQLite store on 127.0.0.1."""
    async with running_store(tmp_path / "store") as running:
        yield running


@pytest_asyncio.fixture
async def any_store(backend, tmp_path):
    """A live store on each backend."""
    db, schema = backend
    async with running_store(tmp_path / "store", db=db, pg_schema=schema) as running:
        yield running
