"""The training library's async mode with the real daemon: init_run starts it, wait() returns once
the store holds what was logged."""

from __future__ import annotations

import os
import signal

import anyio
import pytest

import neptune_sync as neptune
from neptune_sync.wire.daemon import LOCK_FILE, daemon_running
from neptune_sync_store.testing import running_store

PROJECT = "team/proj"


@pytest.mark.asyncio
async def test_async_run_auto_starts_the_daemon_and_wait_sees_the_store(
    isolated_data_dir, tmp_path, monkeypatch, runs
):
    async with running_store(tmp_path / "store") as store:
        monkeypatch.setenv("NEPTUNE_API_TOKEN", await store.token(PROJECT))
        monkeypatch.setenv("NEPTUNE_PROJECT", PROJECT)
        monkeypatch.delenv("NEPTUNE_SYNC_NO_DAEMON")  # this test starts (and stops) one

        def train() -> str:
            run = neptune.init_run(custom_run_id="wired", mode="async")
            for i in range(500):
                run["train/loss"].append(1.0 / (i + 1), step=i)
            run["params/lr"] = 0.5
            run.wait(timeout=30)  # returns once the store acknowledged all of it
            run.stop()
            return run._run_path.name

        try:
            with anyio.fail_after(60):
                run_key = await anyio.to_thread.run_sync(train)
            view = await runs.store_view(store.storage, run_key)
            assert view["params/lr"] == ("float", 0.5)
            assert len(view["train/loss"][1]) == 500
            assert daemon_running(isolated_data_dir)
        finally:
            if daemon_running(isolated_data_dir):
                os.kill(int((isolated_data_dir / LOCK_FILE).read_text()), signal.SIGTERM)
            with anyio.fail_after(15):
                while daemon_running(isolated_data_dir):
                    await anyio.sleep(0.05)
