"""``init_run(mode="read-only")`` reads a run back from a real store on 127.0.0.1."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import time

import pytest
import pytest_asyncio
from client_helpers import rows

import neptune_sync as neptune
from neptune_sync import cli
from neptune_sync.exceptions import MissingFieldError, NeptuneUserError
from neptune_sync.wire.daemon import LOCK_FILE, daemon_running

pytest.importorskip("neptune_sync_store")
from neptune_sync_store.testing import running_store  # noqa: E402

PROJECT = "team/readonly"


def log_and_sync(tmp_path) -> str:
    (tmp_path / "a.txt").write_text("A")
    run = neptune.init_run(project=PROJECT, mode="offline", custom_run_id="ro-1", tags=["x"])
    run["params"] = {"lr": 0.5, "name": "adam", "when": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)}
    for i in range(10):
        run["loss"].append(i / 10, step=i)
    run["model"].upload(neptune.File.from_content(b"weights", extension="pt"))
    run["files"].upload_files(str(tmp_path / "a.txt"))
    run.stop()
    assert cli.main(["sync", "-q"]) == 0
    return run["sys/id"].fetch()


def read_back(run_id: str, tmp_path) -> None:
    with neptune.init_run(run_id, project=PROJECT, mode="read-only") as ro:
        assert ro["params/lr"].fetch() == 0.5
        assert ro["params"].fetch() == {
            "lr": 0.5,
            "name": "adam",
            "when": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
        }
        assert ro["loss"].fetch_last() == 0.9
        assert [r["step"] for r in rows(ro["loss"].fetch_values())] == list(range(10))
        assert ro["sys/tags"].fetch() == {"x"}
        assert ro["model"].download(str(tmp_path / "m.pt")).read_bytes() == b"weights"
        assert ro["files"].fetch() == ["a.txt"]
        assert ro.exists("params") and not ro.exists("nope")
        assert ro.get_structure()["loss"] == "floatSeries"
        with pytest.raises(MissingFieldError):
            ro["nope"].fetch()
        with pytest.raises(NeptuneUserError, match="read-only"):
            ro["loss"].append(1.0)
        with pytest.raises(NeptuneUserError, match="read-only"):
            ro["x"] = 1
    by_custom_id = neptune.init_run(custom_run_id="ro-1", project=PROJECT, mode="read-only")
    assert by_custom_id["sys/id"].fetch() == run_id
    with pytest.raises(NeptuneUserError, match="no run 'missing'"):
        neptune.init_run("missing", project=PROJECT, mode="read-only")


@pytest.mark.asyncio
async def test_read_only_run_reads_what_was_synced(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    async with running_store(tmp_path / "store") as store:
        monkeypatch.setenv("NEPTUNE_API_TOKEN", await store.token(PROJECT))
        run_id = await asyncio.wait_for(asyncio.to_thread(log_and_sync, tmp_path), 60)
        await asyncio.wait_for(asyncio.to_thread(read_back, run_id, tmp_path), 60)


def log_async_and_stop() -> tuple[str, float]:
    run = neptune.init_run(project=PROJECT, mode="async", custom_run_id="async-1")
    for i in range(1000):
        run["loss"].append(float(i), step=i)
    started = time.monotonic()
    run.stop(seconds=30)  # waits until the daemon it started has synced everything
    return run["sys/id"].fetch(), time.monotonic() - started


def read_async_run(run_id: str) -> None:
    ro = neptune.init_run(run_id, project=PROJECT, mode="read-only")
    assert ro["loss"].fetch_last() == 999.0
    assert len(rows(ro["loss"].fetch_values())) == 1000
    assert ro["sys/state"].fetch() == "Inactive"


@pytest_asyncio.fixture
async def daemon_cleanup(isolated_data_dir):
    """Stop the daemon a test's run started (its pid is in the data dir's lock file)."""
    yield
    lock = isolated_data_dir / LOCK_FILE
    if not daemon_running(isolated_data_dir):
        return
    os.kill(int(lock.read_text().split()[0]), signal.SIGTERM)
    deadline = time.monotonic() + 15
    while daemon_running(isolated_data_dir):
        assert time.monotonic() < deadline, "the daemon did not stop"
        await asyncio.sleep(0.05)


@pytest.mark.asyncio
async def test_async_mode_starts_the_daemon_and_stop_waits_for_the_sync(
    tmp_path, monkeypatch, isolated_data_dir, daemon_cleanup
):
    monkeypatch.delenv("NEPTUNE_SYNC_NO_DAEMON", raising=False)
    async with running_store(tmp_path / "store") as store:
        monkeypatch.setenv("NEPTUNE_API_TOKEN", await store.token(PROJECT))
        run_id, waited = await asyncio.wait_for(asyncio.to_thread(log_async_and_stop), 60)
        assert daemon_running(isolated_data_dir)
        await asyncio.wait_for(asyncio.to_thread(read_async_run, run_id), 60)
        assert waited < 30


def sync_mode_calls_return_when_stored() -> None:
    run = neptune.init_run(project=PROJECT, mode="sync", custom_run_id="sync-1")
    reader = neptune.init_run(custom_run_id="sync-1", project=PROJECT, mode="read-only")
    run["params/lr"] = 0.25
    assert reader["params/lr"].fetch() == 0.25  # no wait()/stop(): the call returned once stored
    run["loss"].append(1.5, step=3)
    assert reader["loss"].fetch_last() == 1.5
    run.stop()


@pytest.mark.asyncio
async def test_sync_mode_each_call_returns_once_the_store_has_it(tmp_path, monkeypatch, daemon_cleanup):
    monkeypatch.delenv("NEPTUNE_SYNC_NO_DAEMON", raising=False)
    async with running_store(tmp_path / "store") as store:
        monkeypatch.setenv("NEPTUNE_API_TOKEN", await store.token(PROJECT))
        await asyncio.wait_for(asyncio.to_thread(sync_mode_calls_return_when_stored), 120)
