"""Registry test setup: a store on 127.0.0.1 (SQLite, or PostgreSQL in a throwaway schema) and its token."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("neptune_sync_store")
from neptune_sync_store.storage import make_storage  # noqa: E402
from neptune_sync_store.testing import reachable_postgres, running_store  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from registry_helpers import PROJECT  # noqa: E402


class StoreThread:
    """A store served by its own event loop in a thread, so tests call the client synchronously."""

    def __init__(self, data_dir: Path, dsn: str | None) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._stack = contextlib.AsyncExitStack()
        self.data_dir, self.dsn, self.schema = data_dir, dsn, f"registry_{uuid.uuid4().hex[:12]}"
        settings = {"db": dsn, "pg_schema": self.schema} if dsn else {}
        self.store = self.call(self._stack.enter_async_context(running_store(data_dir, **settings)))
        self.token = self.call(self.store.token(PROJECT))

    def call(self, coro):  # noqa: ANN001, ANN201
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def close(self) -> None:
        self.call(self._stack.aclose())
        if self.dsn:
            self.call(self._drop_schema())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    async def _drop_schema(self) -> None:
        storage = make_storage(self.dsn, self.data_dir, pg_schema=self.schema)
        await storage.open()
        await storage.drop_schema()
        await storage.close()


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
