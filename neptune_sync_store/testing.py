"""An in-process store on 127.0.0.1 for tests (of the store, the daemon and the client)::

async with running_store(tmp_path) as store:
    token = await store.token("ws/proj")
    ...  # talk to store.url
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from .config import StoreConfig
from .server import RunningStore, serve


@asynccontextmanager
async def running_store(
    data_dir: Path, *, db: str | None = None, **config: Any
) -> AsyncIterator[RunningStore]:
    """Run a store on a free port of 127.0.0.1; ``config`` are :class:`StoreConfig` fields."""
    async with serve(StoreConfig(Path(data_dir), db=db, **config)) as store:
        yield store


PG_ENV = "NEPTUNE_SYNC_TEST_PG"
DEFAULT_PG_DSNS = ("postgresql://postgres@127.0.0.1:5432/test", "postgresql://root@127.0.0.1:5432/test")


def postgres_candidates() -> list[str]:
    """DSNs tests try: ``$NEPTUNE_SYNC_TEST_PG`` if set, else the machine's 127.0.0.1:5432 ``test``."""
    return [os.environ[PG_ENV]] if os.environ.get(PG_ENV) else list(DEFAULT_PG_DSNS)


async def reachable_postgres(timeout: float = 3.0) -> tuple[str | None, list[str]]:
    """The first candidate DSN that accepts a connection, and why each one before it did not."""
    import asyncpg

    errors = []
    for dsn in postgres_candidates():
        try:
            conn = await asyncpg.connect(dsn, timeout=timeout)
        except (OSError, asyncio.TimeoutError, asyncpg.PostgresError) as exc:
            errors.append(f"{dsn}: {exc!r}")
            continue
        await conn.close()
        return dsn, errors
    return None, errors


__all__ = ["RunningStore", "postgres_candidates", "reachable_postgres", "running_store"]
