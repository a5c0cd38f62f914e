"""The replicator against the in-memory store: delivery, resumption, damage, quarantine, conflicts."""

from __future__ import annotations

import anyio
import msgspec
import pytest
from neptune_syncd.gate import ProjectGate
from neptune_syncd.replicator import Replicator
from neptune_syncd.sinks.memory import MemorySink, MemoryStore

from neptune_sync.daemon_control import read_state


def replicator(run_path, store, config, **kw):
    return Replicator(
        run_path, MemorySink(store), config, gate=ProjectGate(), limiter=anyio.CapacityLimiter(2), **kw
    )


@pytest.mark.asyncio
async def test_offline_run_with_all_types_reaches_store_field_by_field(runs, config):
    run = runs.create("r1")
    w = runs.all_types(run, points=3000)
    store = MemoryStore()
    config = msgspec.structs.replace(config, batch=msgspec.structs.replace(config.batch, max_ops=500))
    result = await replicator(run, store, config).sync_until_done()
    assert result.pending == 0
    key = run.name
    assert store.values(key) == runs.expected(run)
    assert len(store.values(key)["train/loss"][1]) == 3000
    assert store.batches >= 3  # a 1024-point frame is one entry: batches are cut between entries
    assert len(store.blobs) == 2
    state = read_state(run)
    assert state.writers[w.writer_id].acked_seq == w.last_seq
