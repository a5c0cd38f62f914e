"""Names and steps the registry tests share."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import uuid
from pathlib import Path

from neptune_sync import cli
from neptune_sync_store.storage import make_storage
from neptune_sync_store.testing import running_store

PROJECT = "team/registry"
MODEL = "REGIST-MOD"  # the project key of team/registry is REGIST


def machine(root: Path, name: str) -> Path:
    """Switch this process to machine ``name``: its own data directory under ``root``."""
    path = root / name
    os.environ["NEPTUNE_SYNC_DIR"] = str(path)
    return path


def sync() -> None:
    """`neptune-sync sync` of the current data directory."""
    assert cli.main(["sync", "-q"]) == 0


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
