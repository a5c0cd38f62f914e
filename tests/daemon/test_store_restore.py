"""A store restored from an older backup (database and blobs) is behind what the daemon's state
file says it acknowledged: the next sync re-sends until the store equals the log again."""

from __future__ import annotations

import shutil

import anyio
import pytest

from neptune_sync.cli import main
from neptune_sync.wire import ops as o
from neptune_sync.wire.sync_state import read_state
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
            assert await store.storage.owns_blob(PROJECT, value["sha256"])  # readable by the project


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


@pytest.mark.asyncio
async def test_server_backup_of_a_live_store_then_restore_and_the_daemon_resends(
    runs, tmp_path, monkeypatch, capsys
):
    """``server backup`` while the store serves (SQLite's online backup API), later
    ``server restore`` over a newer store: the next sync brings the store back to the log."""
    store_dir, backup = tmp_path / "store", tmp_path / "backup"
    run = runs.create("backed-up")
    writer = runs.writer(run, segment_size=16 << 10)
    writer.append(o.AssignFile("model/early", runs.file_ref(run, b"early weights", "early.pt")))
    for i in range(2000):
        writer.append_float("train/loss", i, 1 / (i + 1), 1.7e9 + i)
    async with running_store(store_dir) as store:
        await sync(monkeypatch, store)
        code = await anyio.to_thread.run_sync(
            main, ["server", "backup", str(backup), "--data", str(store_dir)]
        )
        assert code == 0, capsys.readouterr().err
        writer.append(o.AssignFile("model/late", runs.file_ref(run, b"late weights" * 500, "late.pt")))
        for i in range(2000, 5000):
            writer.append_float("train/loss", i, 1 / (i + 1), 1.7e9 + i)
        writer.close()
        await sync(monkeypatch, store)
        await assert_store_equals_log(runs, store, run)
    assert oct((backup / "store.sqlite3").stat().st_mode & 0o777) == "0o600"
    assert (
        await anyio.to_thread.run_sync(main, ["server", "restore", str(backup), "--data", str(store_dir)])
        == 2
    )
    assert "pass --replace" in capsys.readouterr().err
    args = ["server", "restore", str(backup), "--data", str(store_dir), "--replace"]
    assert await anyio.to_thread.run_sync(main, args) == 0
    async with running_store(store_dir) as store:
        assert len((await runs.store_view(store.storage, run.name))["train/loss"][1]) == 2000
        await sync(monkeypatch, store)
        await assert_store_equals_log(runs, store, run)
