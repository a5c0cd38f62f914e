"""An in-process store on 127.0.0.1 for tests (of the store, the daemon and the client)::

async with running_store(tmp_path) as store:
    token = await store.token("ws/proj")
    ...  # talk to store.url
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from .server import RunningStore, serve
from .settings import StoreSettings


@asynccontextmanager
async def running_store(
    data_dir: Path, *, db: str | None = None, **settings: Any
) -> AsyncIterator[RunningStore]:
    """Run a store on a free port of 127.0.0.1; ``settings`` are :class:`StoreSettings` fields."""
    async with serve(StoreSettings(Path(data_dir), db=db, **settings)) as store:
        yield store


__all__ = ["RunningStore", "running_store"]
