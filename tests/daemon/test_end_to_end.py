"""Offline runs → the daemon → the real store (neptune_sync_store) on loopback, compared field by field."""

from __future__ import annotations

import anyio
import pytest

from neptune_sync_store.context import CONTEXT
from neptune_sync_store.testing import running_store
from neptune_syncd.notify import Notifier
from neptune_syncd.service import Service
from neptune_syncd.sinks.http import HttpSink

PROJECT = "team/proj"


def synced(service: Service, n_runs: int) -> bool:
    """Every run has had a complete pass that left nothing pending."""
    states = [r.state for r in service.replicators.values()]
    return len(states) == n_runs and all(s.updated and not s.pending_ops for s in states)


@pytest.mark.asyncio
async def test_offline_runs_synced_into_real_store_equal_their_logs(runs, config, tmp_path, store_backend):
    paths = [runs.create(f"e2e{i}") for i in range(3)]
    for p in paths:
        runs.all_types(p, points=5000)
    async with running_store(tmp_path / "store", **store_backend) as store:
        sink = HttpSink(store.url, await store.token(PROJECT))
        service = Service(config, sink, Notifier({}))
        async with anyio.create_task_group() as tg:
            await tg.start(service.run)
            with anyio.fail_after(20):
                while not synced(service, len(paths)):
                    await anyio.sleep(0.02)
            await service.stop()
        blobs = store.app[CONTEXT].blobs
        for p in paths:
            got = await runs.store_view(store.storage, p.name)
            want = runs.normalized(runs.expected(p))
            assert got.keys() == want.keys()
            for path in want:
                assert got[path] == want[path], path
            assert len(got["train/loss"][1]) == 5000
            for ref in (want["model/weights"][1], want["train/images"][1][0][1]):
                assert await blobs.size(ref["sha256"]) is not None
