"""daemon_control (what the training library calls), config loading and sd_notify, without a daemon."""

from __future__ import annotations

import os
import socket
import threading
import time

import msgspec
import pytest

from neptune_sync.daemon_control import pending_ops, wait_synced
from neptune_sync.wire.daemon import daemon_running, try_lock
from neptune_sync.wire.sync_state import RunSyncState, WriterState, read_state
from neptune_syncd import sync_state
from neptune_syncd.config import load_config
from neptune_syncd.notify import Notifier


def write_acked(run, writer_id, seq):
    sync_state.save(run, RunSyncState(writers={writer_id: WriterState(acked_seq=seq)}))


def test_wait_synced_returns_when_acked_or_times_out(runs):
    run = runs.create("wait")
    assert read_state(run) is None
    assert wait_synced(run, "w1", 5, timeout=0.05) is False  # no state file: not synced, no error
    write_acked(run, "w1", 3)
    assert pending_ops(run, "w1", 5) == 2 and pending_ops(run, "other", 5) == 5
    timer = threading.Timer(0.1, write_acked, (run, "w1", 5))
    timer.start()
    t0 = time.monotonic()
    assert wait_synced(run, "w1", 5, timeout=5) is True
    assert time.monotonic() - t0 < 2
    timer.join()
    assert pending_ops(run, "w1", 5) == 0
    (run / "sync" / "state.json").write_text("{torn")
    assert read_state(run) is None and wait_synced(run, "w1", 1, timeout=0.01) is False


def test_state_file_is_replaced_atomically_and_keeps_no_temporaries(runs):
    run = runs.create("atomic")
    for seq in range(20):
        write_acked(run, "w", seq)
    assert read_state(run).writers["w"].acked_seq == 19
    assert [p.name for p in (run / "sync").iterdir()] == ["state.json"]


def test_lock_is_exclusive_per_data_dir(isolated_data_dir):
    assert not daemon_running(isolated_data_dir)
    fd = try_lock(isolated_data_dir)
    try:
        assert fd is not None and daemon_running(isolated_data_dir)
        assert try_lock(isolated_data_dir) is None
        assert (isolated_data_dir / "daemon.lock").read_text() == f"{os.getpid()}\n"
    finally:
        os.close(fd)
    assert not daemon_running(isolated_data_dir)


def test_config_file_env_and_overrides(tmp_path, monkeypatch):
    cfg = tmp_path / "d.toml"
    cfg.write_text('retention = "delete"\nconflict_policy = "rename"\n[batch]\nmax_ops = 7\n')
    monkeypatch.setenv("NEPTUNE_API_TOKEN", "tok")
    monkeypatch.setenv("NEPTUNE_SYNC_DAEMON_CONFIG", str(cfg))
    config = load_config(poll_interval=0.5)
    assert (config.retention, config.conflict_policy, config.batch.max_ops) == ("delete", "rename", 7)
    assert config.api_token == "tok" and config.poll_interval == 0.5
    cfg.write_text("retension = 1\n")
    with pytest.raises(msgspec.ValidationError, match="retension"):
        load_config()
    cfg.write_text('conflict_policy = "drop"\n')
    with pytest.raises(msgspec.ValidationError, match="conflict_policy"):
        load_config()


def test_notifier_sends_datagrams_and_reads_the_watchdog_interval(tmp_path):
    path = tmp_path / "n.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        n = Notifier({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "4000000"})
        assert n.enabled and n.watchdog_interval == 2.0
        assert n.notify("READY=1", "STATUS=ok")
        assert sock.recv(100) == b"READY=1\nSTATUS=ok"
    assert not Notifier({}).notify("READY=1")
    assert Notifier({"WATCHDOG_USEC": "100", "WATCHDOG_PID": "1"}).watchdog_interval == 0.0  # not for us
    assert not Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")}).notify("READY=1")  # never raises
