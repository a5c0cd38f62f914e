"""The daemon as a real process: SIGKILL at random moments, SIGTERM drain, systemd notify, auto-start."""

from __future__ import annotations

import os
import random
import signal
import socket

import anyio
import pytest

from neptune_sync.daemon_control import ensure_daemon
from neptune_sync.wire import ops as o
from neptune_sync.wire.daemon import LOCK_FILE, daemon_running
from neptune_sync.wire.token import ApiToken
from neptune_sync_store.testing import running_store

PROJECT = "team/proj"
KILLS = 20
# big enough that 20 kills, each after a few thousand applied points plus what a fast daemon
# applies before the signal lands, all fall inside the sync
POINTS = 300_000


async def applied(storage, writers) -> int:
    return sum([await storage.acked_seq(PROJECT, key, wid) for key, wid, _ in writers])


@pytest.mark.asyncio
async def test_sigkill_at_random_moments_then_restart_ends_equal_to_clean_sync(
    runs, tmp_path, daemon_process
):
    paths = [runs.create(f"kill{i}") for i in range(2)]
    writers = []
    for p in paths:
        w = runs.all_types(p, points=POINTS)
        writers.append((p.name, w.writer_id, w.last_seq))
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    sock_path = tmp_path / "notify.sock"
    async with running_store(tmp_path / "store") as store:
        daemon = daemon_process(await store.token(PROJECT), batch={"max_ops": 1000})
        mid_sync = done = 0
        with notify_socket(sock_path) as sock:
            # the first writers' params reach the store first; then a second writer per run whose
            # types conflict with them (which type wins a conflict depends on arrival order)
            proc = daemon.start(NOTIFY_SOCKET=str(sock_path))
            await messages_until(sock, {"READY=1"}, timeout=30)
            with anyio.fail_after(30):
                for key, wid, _ in writers:
                    while await store.storage.acked_seq(PROJECT, key, wid) < 6:  # the assigns
                        await anyio.sleep(0.002)
            proc.kill()
            await daemon.wait_exit(proc, 10)
            for p in paths:
                late = runs.writer(p, writer_id="f" * 16)
                late.append(o.AssignInt("params/lr", 7))
                late.append(o.AssignFloat("sys/name", 2.5))
                late.close()
                writers.append((p.name, late.writer_id, late.last_seq))
            total = sum(last for _, _, last in writers)
            done = await applied(store.storage, writers)
            for _ in range(KILLS):
                proc = daemon.start(NOTIFY_SOCKET=str(sock_path))
                await messages_until(sock, {"READY=1"}, timeout=30)
                # let it apply a random number of points (never all), then kill it a moment later
                target = min(total - 1, done + rng.randint(1, 8000))
                with anyio.fail_after(30):
                    while await applied(store.storage, writers) < target:
                        await anyio.sleep(0.002)
                await anyio.sleep(rng.uniform(0.0, 0.005))
                proc.kill()
                await daemon.wait_exit(proc, 10)
                done = await applied(store.storage, writers)
                mid_sync += done < total
            proc = daemon.start(NOTIFY_SOCKET=str(sock_path))
            await messages_until(sock, {"READY=1"}, timeout=30)  # SIGTERM before that is a plain exit
        with anyio.fail_after(180):  # everything, including the daemon's conflict replacements (a loaded box is slow)
            while [await runs.store_view(store.storage, p.name) for p in paths] != [
                runs.normalized(runs.expected(p)) for p in paths
            ]:
                await anyio.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert await daemon.wait_exit(proc, 10) == 0, proc.stderr.read().decode()
        for p in paths:
            got = await runs.store_view(store.storage, p.name)
            assert got == runs.normalized(runs.expected(p)), f"seed {seed}"
            assert len(got["train/loss"][1]) == POINTS
            assert got["params/lr"] == ("float", 7.0)  # coerced
            assert got["sys/name__conflict_float"] == ("float", 2.5)  # renamed
            assert len(got["sys/sync/conflicts"][1]) == 2
    assert mid_sync >= KILLS - 2, f"only {mid_sync} of {KILLS} kills landed during the sync (seed {seed})"


def notify_socket(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    return sock


async def messages_until(sock, wanted: set[str], timeout: float) -> set[str]:
    seen: set[str] = set()  # messages from before this call (an earlier process) were drained
    with anyio.fail_after(timeout):
        while not wanted <= seen:
            try:
                seen.update(sock.recv(4096).decode().splitlines())
            except BlockingIOError:
                await anyio.sleep(0.02)
    return seen


@pytest.mark.asyncio
async def test_notify_socket_sees_ready_watchdog_and_stopping(tmp_path, daemon_process):
    token = ApiToken("http://127.0.0.1:9", "nss_unused").format()  # no runs: the store is never called
    daemon = daemon_process(token)
    path = tmp_path / "notify.sock"
    with notify_socket(path) as sock:
        proc = daemon.start(NOTIFY_SOCKET=str(path), WATCHDOG_USEC="200000")
        seen = await messages_until(sock, {"READY=1", "WATCHDOG=1"}, timeout=15)
        assert any(m.startswith("STATUS=") for m in seen)
        proc.send_signal(signal.SIGTERM)
        await messages_until(sock, {"STOPPING=1"}, timeout=10)
        assert await daemon.wait_exit(proc, 10) == 0


@pytest.mark.asyncio
async def test_second_daemon_for_the_same_data_dir_exits_at_once(tmp_path, daemon_process, isolated_data_dir):
    token = ApiToken("http://127.0.0.1:9", "nss_unused").format()
    daemon = daemon_process(token)
    path = tmp_path / "notify.sock"
    with notify_socket(path) as sock:
        first = daemon.start(NOTIFY_SOCKET=str(path))
        await messages_until(sock, {"READY=1"}, timeout=15)
    assert daemon_running(isolated_data_dir)
    second = daemon.start()
    assert await daemon.wait_exit(second, 15) == 0
    assert b"another neptune-syncd holds" in second.stderr.read()
    assert first.poll() is None
    first.send_signal(signal.SIGTERM)
    assert await daemon.wait_exit(first, 10) == 0
    assert not daemon_running(isolated_data_dir)


@pytest.mark.asyncio
async def test_ensure_daemon_starts_one_daemon_and_respects_no_daemon(isolated_data_dir, monkeypatch):
    monkeypatch.setenv("NEPTUNE_API_TOKEN", ApiToken("http://127.0.0.1:9", "nss_unused").format())
    monkeypatch.setenv("NEPTUNE_SYNC_NO_DAEMON", "1")
    ensure_daemon(isolated_data_dir)
    await anyio.sleep(0.3)
    assert not daemon_running(isolated_data_dir)
    monkeypatch.delenv("NEPTUNE_SYNC_NO_DAEMON")
    ensure_daemon(isolated_data_dir)
    with anyio.fail_after(15):
        while not daemon_running(isolated_data_dir):
            await anyio.sleep(0.05)
    pid = int((isolated_data_dir / LOCK_FILE).read_text())
    ensure_daemon(isolated_data_dir)  # already running: nothing new
    await anyio.sleep(0.5)
    assert int((isolated_data_dir / LOCK_FILE).read_text()) == pid
    os.kill(pid, signal.SIGTERM)
    with anyio.fail_after(10):
        while daemon_running(isolated_data_dir):
            await anyio.sleep(0.05)


@pytest.mark.asyncio
async def test_sigterm_during_a_stuck_request_exits_within_the_drain_bound(
    runs, proxied_store, daemon_process, tmp_path
):
    proxy, store, token = proxied_store
    path = runs.create("stuck")
    runs.all_types(path, points=100)
    proxy.faults, proxy.hang = ["hang"], 30.0  # the first batch never gets an answer
    daemon = daemon_process(token, shutdown_timeout=1.0, store_url=proxy.url)
    proc = daemon.start()
    with anyio.fail_after(15):
        while not any(p == "/v1/batches" for _, p, _ in proxy.requests):
            await anyio.sleep(0.02)
    t0 = anyio.current_time()
    proc.send_signal(signal.SIGTERM)
    assert await daemon.wait_exit(proc, 10) == 0
    assert anyio.current_time() - t0 < 1.0 + 2.0  # the bound, plus process teardown
    assert b"replicators cancelled mid-batch" in proc.stderr.read()
