"""Registry test setup: a store on 127.0.0.1 (SQLite, or PostgreSQL in a throwaway schema) and its token."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("neptune_sync_store")
from neptune_sync_store.testing import reachable_postgres  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from registry_helpers import PROJECT, StoreThread  # noqa: E402


def _postgres() -> str | None:
    return asyncio.run(reachable_postgres())[0]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path, monkeypatch) -> Iterator[StoreThread]:
    dsn = None
    if request.param == "postgres":
        dsn = _postgres()
        if dsn is None:
            pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    running = StoreThread(tmp_path / "store", dsn)
    monkeypatch.setenv("NEPTUNE_API_TOKEN", running.token)
    monkeypatch.setenv("NEPTUNE_PROJECT", PROJECT)
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def sqlite_store(tmp_path, monkeypatch) -> Iterator[StoreThread]:
    running = StoreThread(tmp_path / "store", None)
    monkeypatch.setenv("NEPTUNE_API_TOKEN", running.token)
    monkeypatch.setenv("NEPTUNE_PROJECT", PROJECT)
    try:
        yield running
    finally:
        running.close()
