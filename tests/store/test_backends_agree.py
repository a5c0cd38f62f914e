"""SQLite and PostgreSQL end in the same state for the same entries: their dumps are equal bytes."""

from __future__ import annotations

import uuid

import pytest
from store_helpers import request, require_pg, sample_entries, split_overlapping

from neptune_sync_store.storage import make_storage

pytestmark = [pytest.mark.asyncio, pytest.mark.postgres]


async def test_sqlite_and_postgres_dumps_are_identical(tmp_path):
    dsn = await require_pg()
    sqlite = make_storage(None, tmp_path)
    pg = make_storage(dsn, tmp_path, pg_schema=f"nss_test_{uuid.uuid4().hex[:12]}")
    await sqlite.open()
    await pg.open()
    try:
        for batch in split_overlapping(sample_entries(), seed=7):
            assert await sqlite.apply_batch(request(batch)) == await pg.apply_batch(request(batch))
        assert await sqlite.dump() == await pg.dump()
    finally:
        await pg.drop_schema()
        await pg.close()
        await sqlite.close()
