"""A run written by two processes (one resumes the other) reaches the store exactly as the local
read-back shows it, whichever writer the store receives first, and after a daemon restart.

Real child processes log through the public API; the real store runs on 127.0.0.1 (both
backends); the delivery order is forced by hiding one writer's segments from a sync.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import anyio
import pytest
from readback_helpers import Hidden, read_back, sync

from neptune_sync.oplog import layout
from neptune_sync_store.testing import running_store

PROJECT = "team/proj"


LOGGER = textwrap.dedent(
    """
    import os, signal, sys, time
    import neptune_sync
    note, first, last, how = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    ahead = float(sys.argv[5])  # seconds this process's timestamps run ahead of the clock
    run = neptune_sync.init_run(project="{project}", custom_run_id="r", mode="offline")
    for step in range(first, last):
        run["train/loss"].append(1.0 / (step + 1), step=step, timestamp=time.time() + ahead)
    run["params/note"] = note
    if how == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    run.stop()
    """
).format(project=PROJECT)


def log_process(note: str, first: int, last: int, how: str = "stop", ahead: float = 0.0) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", LOGGER, note, str(first), str(last), how, str(ahead)],
        capture_output=True,
        timeout=120,
    )
    expected = -signal.SIGKILL if how == "kill" else 0
    assert proc.returncode == expected, proc.stderr.decode()


def writer_ids(run_path: Path) -> set[str]:
    return {p.name.rsplit("-", 1)[0] for p in layout.segments_dir(run_path).glob("*.seg")}


def two_writers(how_a: str = "stop", ahead_a: float = 0.0) -> tuple[Path, str, str]:
    """Process A logs steps 0..999 and note "A" (its timestamps ``ahead_a`` seconds ahead); process B
    resumes the run, logs 1000..1999 and "B"."""
    log_process("A", 0, 1000, how_a, ahead_a)
    [run_path] = layout.iter_run_dirs()
    [a] = writer_ids(run_path)
    log_process("B", 1000, 2000)
    [b] = writer_ids(run_path) - {a}
    return run_path, a, b


@pytest.mark.asyncio
@pytest.mark.parametrize("first", ["A", "B"])
@pytest.mark.parametrize("ahead_a", [0.0, 300.0], ids=["clocks-in-step", "first-writer-ahead"])
async def test_resumed_run_in_the_store_equals_the_read_back_in_either_delivery_order(
    first, ahead_a, runs, tmp_path, monkeypatch, store_backend
):
    """Also when A's timestamps run ahead of B's clock: B resumed after A, so B's records follow
    A's (its causal floor), and neither the read-back nor the store drops B's points."""
    run_path, a, b = two_writers(ahead_a=ahead_a)
    local = read_back(run_path)
    assert len(local["train/loss"][1]) == 2000 and local["params/note"] == ("string", "B")
    async with running_store(tmp_path / "store", **store_backend) as store:
        monkeypatch.setenv("NEPTUNE_API_TOKEN", await store.token(PROJECT))
        with Hidden(run_path, b if first == "A" else a, tmp_path):
            await sync()
        await sync()
        got = await runs.store_view(store.storage, run_path.name)
    assert got == local
    assert got["sys/state"] == ("string", "Inactive")


@pytest.mark.asyncio
async def test_killed_run_resumed_then_daemon_restarted_ends_inactive(
    runs, tmp_path, store_backend, daemon_process
):
    """A is killed (its last sys/state is "Active"), B resumes and stops; the daemon syncs B,
    dies by SIGKILL, and a new daemon syncs A: the store must still say "Inactive"."""
    run_path, a, b = two_writers(how_a="kill")
    local = read_back(run_path)
    assert local["sys/state"] == ("string", "Inactive")
    async with running_store(tmp_path / "store", **store_backend) as store:
        daemon = daemon_process(await store.token(PROJECT))
        with Hidden(run_path, a, tmp_path):
            proc = daemon.start()
            with anyio.fail_after(60):
                while (await store.storage.acked_seq(PROJECT, run_path.name, b)) == 0:
                    await anyio.sleep(0.05)
                while await runs.store_view(store.storage, run_path.name) != read_back(run_path):
                    await anyio.sleep(0.05)
            proc.kill()
            await daemon.wait_exit(proc, 10)
        proc = daemon.start()
        try:
            with anyio.fail_after(60):
                while await runs.store_view(store.storage, run_path.name) != local:
                    await anyio.sleep(0.1)
        finally:
            proc.send_signal(signal.SIGTERM)
            await daemon.wait_exit(proc, 15)
        got = await runs.store_view(store.storage, run_path.name)
    assert got["sys/state"] == ("string", "Inactive")
    assert got["params/note"] == ("string", "B") and len(got["train/loss"][1]) == 2000
