"""A segment written in a newer format version stops that writer loudly; the daemon keeps serving
every other run (it must not die, or crash-loop under systemd, on one newer client's data)."""

from __future__ import annotations

import struct

import anyio
import pytest
from store_model import MemorySink, MemoryStore

from neptune_sync.oplog import framing as fr
from neptune_sync.oplog.layout import RunIdentity, claim_identity, run_dir, run_key_for, segments_dir
from neptune_sync.oplog.writer import OpLogWriter
from neptune_sync.wire import ops
from neptune_syncd.config import DaemonConfig
from neptune_syncd.service import Service

PROJECT = "team/proj"


def make_run(root, name: str):
    key = run_key_for(PROJECT, custom_run_id=name)
    path = run_dir(key, root)
    claim_identity(path, RunIdentity(PROJECT, key, f"RUN-{name}", name))
    writer = OpLogWriter(
        segments_dir(path), project=PROJECT, run_key=key, run_id=f"RUN-{name}", custom_run_id=name
    )
    writer.append(ops.AssignInt("params/x", 1))
    writer.close()
    return key, path


@pytest.mark.asyncio
async def test_a_newer_format_segment_stops_its_writer_and_the_other_runs_still_sync(tmp_path):
    newer_key, newer = make_run(tmp_path, "newer")
    (segment,) = segments_dir(newer).glob("*.seg")
    data = bytearray(segment.read_bytes())
    struct.pack_into("<H", data, 8, max(fr.READABLE_VERSIONS) + 1)  # a format version no reader here knows
    segment.write_bytes(bytes(data))
    healthy_key, _ = make_run(tmp_path, "healthy")
    store = MemoryStore()
    service = Service(
        DaemonConfig(data_dir=str(tmp_path), poll_interval=0.01, rescan_interval=0.05), MemorySink(store)
    )
    with anyio.move_on_after(2) as scope:  # the service runs until cancelled; it must not die first
        await service.run()
    assert scope.cancelled_caught, "the daemon stopped by itself"
    assert store.values(healthy_key) == {"params/x": ("int", 1)}
    assert not store.values(newer_key)
