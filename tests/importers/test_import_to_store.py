"""End to end: import the real neptune 1.14 offline queue, let the sync daemon ship it to a real
store on 127.0.0.1, and compare every field, series point and file the store holds; then wipe
the local copy, import again and sync again: the store must not gain a single point."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from neptune_sync.cli import main
from neptune_sync.oplog.layout import read_identity, segments_dir
from neptune_sync.oplog.reader import read_run
from neptune_sync.store_client import StoreClient
from neptune_sync.wire.protocol import RunInfo
from neptune_sync.wire.sync_state import read_state
from neptune_sync_store.testing import running_store
from neptune_syncd.config import DaemonConfig
from neptune_syncd.notify import Notifier
from neptune_syncd.service import Service
from neptune_syncd.sinks.http import HttpSink

FIXTURE = Path(__file__).parent / "data" / "neptune1_offline"
GEN_DIR = "/tmp/neptune1-fixture-gen"
PROJECT = "ws/proj"
RUN = "90edefcd-f560-43e0-a53e-e251347b7314"  # the neptune container id is the run id


async def _sync_until(config: DaemonConfig, sink: HttpSink, done, timeout: float = 20.0) -> None:
    service = Service(config, sink, Notifier({}))
    async with anyio.create_task_group() as tg:
        await tg.start(service.run)
        with anyio.fail_after(timeout):
            while not await anyio.to_thread.run_sync(done):
                await anyio.sleep(0.1)
        await service.stop()


@pytest.mark.asyncio
async def test_imported_queue_reaches_the_store_intact_and_reimport_adds_nothing(
    tmp_path, isolated_data_dir, log_view, store_state
):
    training = tmp_path / "training"
    shutil.copytree(FIXTURE, training)
    for log in training.rglob("data-*.log"):
        log.write_text(log.read_text().replace(GEN_DIR, str(training)))
    assert main(["import", "neptune", str(training), "--project", PROJECT]) == 0
    local = log_view.state()
    downloads = tmp_path / "downloads"
    downloads.mkdir()

    async with running_store(tmp_path / "store") as store:
        token = await store.token(PROJECT)
        config = DaemonConfig(data_dir=str(isolated_data_dir), store_url=store.url, api_token=token)
        client = StoreClient(store.url, token, timeout=5.0)

        def complete() -> bool:
            return (
                client.find_run(PROJECT, RUN) is not None
                and store_state(client, PROJECT, RUN, downloads) == local
            )

        await _sync_until(config, HttpSink(store.url, token, timeout=5.0), complete)
        remote = await anyio.to_thread.run_sync(store_state, client, PROJECT, RUN, downloads)
        assert remote == local
        assert remote["train/loss"] == [(i, 1.0 / (i + 1)) for i in range(50)]
        assert remote["cfg"] == ("a.txt", b"hello file\n") and remote["imgs"][0][1].startswith(b"\x89PNG")

        shutil.rmtree(log_view.run())  # the local copy is gone; the neptune queue is still there
        assert main(["import", "neptune", str(training), "--project", PROJECT]) == 0
        run_path = log_view.run()
        writers = {h.writer_id: e.last_seq for h, e in read_run(segments_dir(run_path))}
        identity = read_identity(run_path)
        sink = HttpSink(store.url, token, timeout=5.0)
        await sink.open()
        try:  # the re-import wrote the same writer id and sequence numbers: the store has them all
            info = RunInfo(identity.project, identity.run_key, identity.run_id)
            assert {w: await sink.acked_seq(info, w) for w in writers} == writers
        finally:
            await sink.close()

        def caught_up() -> bool:
            state = read_state(run_path)
            return state is not None and {w: s.acked_seq for w, s in state.writers.items()} == writers

        await _sync_until(config, HttpSink(store.url, token, timeout=5.0), caught_up)
        assert await anyio.to_thread.run_sync(store_state, client, PROJECT, RUN, downloads) == remote


ASYNC_FIXTURE = Path(__file__).parent / "data" / "neptune1_async"
ASYNC_RUN = "6f1c9a52-8d2e-4b7a-9c3e-1a2b3c4d5e6f"


def test_documented_commands_import_then_sync_to_a_server_process(
    tmp_path, log_view, store_state, monkeypatch
):
    """`neptune-sync server`, `neptune-sync import neptune DIR`, `neptune-sync sync`, as docs say."""
    token_file = tmp_path / "token"
    server = subprocess.Popen(
        [sys.executable, "-m", "neptune_sync.cli", "server", "--data", str(tmp_path / "store"), "--port", "0"]
        + ["--token-project", PROJECT, "--token-file", str(token_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not (token_file.exists() and token_file.read_text().strip()):
            assert time.monotonic() < deadline and server.poll() is None, "the store did not start"
            time.sleep(0.05)
        monkeypatch.setenv("NEPTUNE_API_TOKEN", token_file.read_text().strip())

        assert main(["import", "neptune", str(ASYNC_FIXTURE), "--project", PROJECT]) == 0
        assert main(["sync", "--quiet"]) == 0

        client = StoreClient.from_token(token_file.read_text().strip(), timeout=5.0)
        (tmp_path / "dl").mkdir()
        remote = store_state(client, PROJECT, ASYNC_RUN, tmp_path / "dl")
        assert remote == log_view.state()
        assert remote["train/loss"] == [(i, 1.0 / (i + 1)) for i in range(25)]
    finally:
        server.terminate()
        server.wait(timeout=10)
