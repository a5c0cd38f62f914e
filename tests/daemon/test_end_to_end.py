"""Offline runs → the daemon → the real store (neptune_sync_store) on loopback, compared field by field."""

from __future__ import annotations

import math

import anyio
import msgspec
import pytest
from neptune_syncd.notify import Notifier
from neptune_syncd.service import Service
from neptune_syncd.sinks.http import HttpSink

from neptune_sync.oplog import ops as o
from neptune_sync_store.context import CONTEXT
from neptune_sync_store.testing import running_store

PROJECT = "team/proj"


def file_dict(ref: o.FileRef) -> dict:
    return {"sha256": ref.sha256, "size": ref.size, "name": ref.name, "extension": ref.extension}


def normalized(values: dict) -> dict:
    """The memory model's fields in the store's read-API shapes."""
    out = {}
    for path, (kind, value) in values.items():
        if kind in o.SERIES_TYPES:
            value = [(s, file_dict(v) if isinstance(v, o.FileRef) else v, ts) for s, v, ts in value]
        elif kind == o.FieldType.STRING_SET:
            value = sorted(value)
        elif kind == o.FieldType.FILE_SET:
            value = {rel: file_dict(ref) for rel, ref in sorted(value.items())}
        elif kind == o.FieldType.FILE:
            value = file_dict(value)
        elif kind == o.FieldType.ARTIFACT:
            sha, files = value
            value = {"sha256": sha, "files": [msgspec.structs.asdict(f) for f in files]}
        out[path] = (kind, value)
    return out


async def store_view(storage, run_key: str) -> dict:
    """Every field of a run as the store serves it, series with all their points."""
    out = {}
    for fv in await storage.field_values(PROJECT, run_key, []):
        value = fv.value
        if fv.type in o.SERIES_TYPES:
            page = await storage.series(
                PROJECT, run_key, fv.path, start=-math.inf, stop=math.inf, after=-math.inf, limit=1_000_000
            )
            value = [tuple(p) for p in page.points]
        out[fv.path] = (fv.type, value)
    return out


def synced(service: Service, n_runs: int) -> bool:
    """Every run has had a complete pass that left nothing pending."""
    states = [r.state for r in service.replicators.values()]
    return len(states) == n_runs and all(s.updated and not s.pending_ops for s in states)


@pytest.mark.asyncio
async def test_offline_runs_synced_into_real_store_equal_their_logs(runs, config, tmp_path):
    paths = [runs.create(f"e2e{i}") for i in range(3)]
    for p in paths:
        runs.all_types(p, points=5000)
    async with running_store(tmp_path / "store") as store:
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
            got = await store_view(store.storage, p.name)
            want = normalized(runs.expected(p))
            assert got.keys() == want.keys()
            for path in want:
                assert got[path] == want[path], path
            assert len(got["train/loss"][1]) == 5000
            for ref in (want["model/weights"][1], want["train/images"][1][0][1]):
                assert blobs.has(ref["sha256"])
