"""Shared fixtures: every test gets its own data directory; nothing touches the user's."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_data_dir(tmp_path, monkeypatch):
    """Point NEPTUNE_SYNC_DIR at a fresh directory and keep the tests offline by default.

    No test starts a background daemon unless it removes NEPTUNE_SYNC_NO_DAEMON itself (and
    stops what it started).
    """
    data = tmp_path / "neptune-sync-data"
    monkeypatch.setenv("NEPTUNE_SYNC_DIR", str(data))
    monkeypatch.setenv("NEPTUNE_SYNC_NO_DAEMON", "1")
    for var in (
        "NEPTUNE_PROJECT",
        "NEPTUNE_API_TOKEN",
        "NEPTUNE_MODE",
        "NEPTUNE_CUSTOM_RUN_ID",
        "NEPTUNE_MONITORING_NAMESPACE",
        "NEPTUNE_SYNC_MONITORING_PERIOD",
        "NEPTUNE_SYNC_HEARTBEAT_PERIOD",
    ):
        monkeypatch.delenv(var, raising=False)
    return data


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """A real S3 API server (SeaweedFS ``weed mini``) on loopback for the session; each test takes
    its own prefix of its bucket."""
    from neptune_sync_store.s3_testing import seaweedfs

    with seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server
