"""``neptune-sync server --workers N``: N processes on one port, stopped together."""

from __future__ import annotations

import asyncio
import urllib.request
import uuid

import psutil
import pytest
from store_helpers import require_pg, start_server, stop

from neptune_sync_store.storage import make_storage


def test_workers_share_one_port_and_stop_with_their_parent(tmp_path):
    proc, url = start_server(tmp_path / "data", "--workers", "2")
    try:
        workers = psutil.Process(proc.pid).children()
        assert len(workers) == 2
        listening = {
            c.pid
            for c in psutil.net_connections("tcp")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == int(url.rsplit(":", 1)[1])
        }
        assert listening == {w.pid for w in workers}  # both workers, not the parent, listen
        for _ in range(20):  # new connections each time: the kernel spreads them
            with urllib.request.urlopen(f"{url}/v1/health", timeout=10) as resp:
                assert resp.status == 200
    finally:
        assert stop(proc) == 0
    gone, alive = psutil.wait_procs(workers, timeout=15)
    assert alive == [] and len(gone) == 2


@pytest.mark.postgres
@pytest.mark.asyncio
async def test_store_processes_starting_together_on_a_fresh_schema_all_open(tmp_path):
    """Concurrent CREATE SCHEMA / TABLE IF NOT EXISTS collide in PostgreSQL's catalog; the
    schema is created under a lock, so workers and replicas starting at once all come up."""
    dsn = await require_pg()
    schema = f"nss_race_{uuid.uuid4().hex[:12]}"
    storages = [make_storage(dsn, tmp_path, pg_schema=schema) for _ in range(6)]
    try:
        await asyncio.gather(*(s.open() for s in storages))
    finally:
        await storages[0].drop_schema()
        for s in storages:
            await s.close()
