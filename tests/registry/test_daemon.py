"""Models through the background daemon (async mode): the daemon a model version starts syncs it,
the version learns its number, and change_stage returns once the store has the new stage."""

from __future__ import annotations

import os
import signal
import time

import pytest
from registry_helpers import MODEL

import neptune_sync as neptune
from neptune_sync.wire.daemon import LOCK_FILE, daemon_running


@pytest.fixture
def daemon(isolated_data_dir, monkeypatch):
    """Let containers start the daemon; stop it afterwards (its pid is in the data dir's lock file)."""
    monkeypatch.delenv("NEPTUNE_SYNC_NO_DAEMON", raising=False)
    yield
    if not daemon_running(isolated_data_dir):
        return
    lock = isolated_data_dir / LOCK_FILE
    os.kill(int(lock.read_text().split()[0]), signal.SIGTERM)
    deadline = time.monotonic() + 15
    while daemon_running(isolated_data_dir):
        assert time.monotonic() < deadline, "the daemon did not stop"
        time.sleep(0.05)


def test_async_version_is_numbered_and_change_stage_waits_for_the_store(sqlite_store, daemon):
    with neptune.init_model(key="MOD") as model:
        model["data"] = "d"
    version = neptune.init_model_version(model=MODEL)
    local = version.id
    version["acc"] = 0.9
    version.wait()  # the daemon has synced everything so far: the store numbered the version
    assert local.startswith(f"{MODEL}-local-") and version.id == f"{MODEL}-1"
    assert version["sys/id"].fetch() == f"{MODEL}-1"
    reader = neptune.init_model_version(with_id=f"{MODEL}-1", mode="read-only")
    for stage in ("staging", "production"):
        version.change_stage(stage)  # returns once the store has it, as 1.x's synchronous call
        assert reader["sys/stage"].fetch() == stage
    version.stop()
    assert reader["sys/state"].fetch() == "Inactive"
    table = neptune.init_model(with_id=MODEL, mode="read-only").fetch_model_versions_table()
    assert table.to_pandas()["sys/stage"].tolist() == ["production"]
