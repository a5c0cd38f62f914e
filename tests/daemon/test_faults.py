"""The daemon against a store that fails in every transient way: the end result equals a clean sync."""

from __future__ import annotations

import anyio
import msgspec
import pytest
from neptune_syncd.notify import Notifier
from neptune_syncd.service import Service
from neptune_syncd.sinks.http import HttpSink


async def serve_until(config, url, done, timeout=15.0):
    """Run the daemon in-process until ``done()``; then stop it (the drain path)."""
    service = Service(config, HttpSink(url, "token", timeout=0.3), Notifier({}))
    async with anyio.create_task_group() as tg:
        await tg.start(service.run)
        with anyio.fail_after(timeout):
            while not done():
                await anyio.sleep(0.01)
        await service.stop()
    return service


def small_batches(config):
    return msgspec.structs.replace(config, batch=msgspec.structs.replace(config.batch, max_ops=400))


def synced(store, run_paths, runs):
    return lambda: all(store.mem.values(p.name) == runs.expected(p) for p in run_paths)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "faults",
    [["429", "429", "429"], ["500", "500", "500"], ["reset", "reset"], ["hang"], ["drop", "drop"]],
    ids=["429-retry-after", "500s", "connection-reset", "timeout", "response-dropped-after-apply"],
)
async def test_transient_faults_end_equal_to_clean_sync(runs, config, fake_store, faults):
    url, store = fake_store
    store.faults = list(faults)
    paths = [runs.create(f"run{i}") for i in range(2)]
    for p in paths:
        runs.all_types(p, points=2000)
    await serve_until(small_batches(config), url, synced(store, paths, runs))
    for p in paths:
        assert store.mem.values(p.name) == runs.expected(p)
        assert len(store.mem.values(p.name)["train/loss"][1]) == 2000
    assert not store.faults, "every scripted fault was met"
    assert store.requests > len(faults)


@pytest.mark.asyncio
async def test_store_down_then_back_catches_up(runs, config, store_server):
    path = runs.create("outage")
    runs.all_types(path, points=1000)
    await store_server.stop()
    service = Service(config, HttpSink(store_server.url, "token", timeout=0.3), Notifier({}))
    async with anyio.create_task_group() as tg:
        await tg.start(service.run)
        await anyio.sleep(0.5)
        assert service.replicators[path].state.last_error.startswith("store unavailable")
        assert store_server.store.mem.values(path.name) == {}
        await store_server.start()
        with anyio.fail_after(10):
            while store_server.store.mem.values(path.name) != runs.expected(path):
                await anyio.sleep(0.01)
        await service.stop()
    assert service.replicators == {}
