"""A store restored from an older backup (database and blobs) is behind what the daemon's state
file says it acknowledged: the next sync re-sends until the store equals the log again."""

from __future__ import annotations

import shutil

import anyio
import pytest

from neptune_sync.cli import main
from neptune_sync.daemon_control import read_state
from neptune_sync.oplog import ops as o
from neptune_sync_store.context import CONTEXT
from neptune_sync_store.testing import running_store

PROJECT = "team/proj"


async def sync(monkeypatch, store) -> None:
    monkeypatch.setenv("NEPTUNE_API_TOKEN", await store.token(PROJECT))
    code = await anyio.to_thread.run_sync(main, ["sync", "-q"])
    assert code == 0


async def assert_store_equals_log(runs, store, run) -> None:
    got = await runs.store_view(store.storage, run.name)
    want = runs.normalized(runs.expected(run))
    assert got.keys() == want.keys()
    for path in want:
        assert got[path] == want[path], path  # field by field, series point by point
    blobs = store.app[CONTEXT].blobs
    for kind, value in want.values():
        if kind == o.FieldType.FILE:
            assert await blobs.size(value["sha256"]) is not None


@pytest.mark.asyncio
async def test_a_store_restored_from_a_backup_gets_everything_again(runs, tmp_path, monkeypatch, capsys):
    store_dir, backup = tmp_path / "store", tmp_path / "backup"
    run = runs.create("restored")
    writer = runs.writer(run, segment_size=16 << 10)  # stays open: the same writer logs on after the backup
    writer.append(o.AssignString("params/phase", "before the backup"))
    writer.append(o.AssignFile("model/early", runs.file_ref(run, b"early weights", "early.pt")))
    for i in range(3000):
        writer.append_float("train/loss", i, 1 / (i + 1), 1.7e9 + i)
    async with running_store(store_dir) as store:
        await sync(monkeypatch, store)
    shutil.copytree(store_dir, backup)  # the store is stopped: a consistent copy of db and blobs

    writer.append(o.AssignString("params/phase", "after the backup"))
    writer.append(o.AssignFile("model/late", runs.file_ref(run, b"late weights" * 1000, "late.pt")))
    for i in range(3000, 7000):
        writer.append_float("train/loss", i, 1 / (i + 1), 1.7e9 + i)
    writer.close()
    async with running_store(store_dir) as store:
        await sync(monkeypatch, store)
        await assert_store_equals_log(runs, store, run)
    acked = read_state(run).writers[writer.writer_id].store_acked
    assert acked == writer.last_seq

    shutil.rmtree(store_dir)
    shutil.copytree(backup, store_dir)  # the store comes back from the backup: behind state.json
    async with running_store(store_dir) as store:
        assert len((await runs.store_view(store.storage, run.name))["train/loss"][1]) == 3000
        await sync(monkeypatch, store)
        await assert_store_equals_log(runs, store, run)
    assert read_state(run).writers[writer.writer_id].store_acked == writer.last_seq
