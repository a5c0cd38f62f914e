"""Security suite fixtures: live stores (SQLite; PostgreSQL where several processes share one
database), and the helpers of tests/store (put on sys.path)."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest_asyncio

sys.path.insert(0, str(Path(__file__).parents[1] / "store"))

from store_helpers import require_pg  # noqa: E402

from neptune_sync_store.storage import make_storage  # noqa: E402
from neptune_sync_store.testing import running_store  # noqa: E402


@pytest_asyncio.fixture
async def store(tmp_path):
    """A live SQLite store on 127.0.0.1."""
    async with running_store(tmp_path / "store") as running:
        yield running


@pytest_asyncio.fixture
async def pg_schema(tmp_path):
    """(dsn, schema): a throwaway PostgreSQL schema, dropped afterwards."""
    dsn = await require_pg()
    schema = f"nss_sec_{uuid.uuid4().hex[:12]}"
    yield dsn, schema
    cleanup = make_storage(dsn, tmp_path, pg_schema=schema)
    await cleanup.open()
    await cleanup.drop_schema()
    await cleanup.close()
