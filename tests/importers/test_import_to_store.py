"""End to end: import the real neptune 1.14 offline queue, let the sync daemon ship it to a real
store on 127.0.0.1, and compare every field, series point and file the store holds; then wipe
the local copy, import again and sync again: the store must not gain a single point."""

from __future__ import annotations

import shutil
from pathlib import Path

import anyio
import pytest

from neptune_sync.cli import main
from neptune_sync.daemon_control import read_state
from neptune_sync.oplog.layout import read_identity, segments_dir
from neptune_sync.oplog.reader import read_run
from neptune_sync.protocol import RunInfo
from neptune_sync.store_client import StoreClient
from neptune_sync_store.testing import running_store
from neptune_syncd.config import DaemonConfig
from neptune_syncd.notify import Notifier
from neptune_syncd.service import Service
from neptune_syncd.sinks.http import HttpSink

FIXTURE = Path(__file__).parent / "data" / "neptune1_offline"
GEN_DIR = "/tmp/neptune1-fixture-gen"
PROJECT = "ws/proj"
RUN = "90edefcd-f560-43e0-a53e-e251347b7314"  # the neptune container id is the run id


def _store_state(client: StoreClient, tmp: Path) -> dict[str, object]:
    """What the store holds, in the shape of conftest.replay (files as their bytes)."""

    def content(ref: dict) -> bytes:
        return client.download_blob(ref["sha256"], tmp / ref["sha256"]).read_bytes()

    state: dict[str, object] = {}
    for path, field in client.values(PROJECT, RUN).items():
        kind, value = field.type, field.value
        if kind in ("floatSeries", "stringSeries"):
            state[path] = [(s, v) for s, v, _ in client.series(PROJECT, RUN, path)]
        elif kind == "fileSeries":
            state[path] = [(s, content(v)) for s, v, _ in client.series(PROJECT, RUN, path)]
        elif kind == "file":
            state[path] = (value["name"], content(value))
        elif kind == "fileSet":
            state[path] = {rel: content(ref) for rel, ref in value.items()}
        elif kind == "stringSet":
            state[path] = set(value)
        elif kind == "artifact":
            state[path] = {f["relpath"]: f["sha256"] for f in value["files"]} or value["sha256"]
        else:
            state[path] = value
    return state


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
    tmp_path, isolated_data_dir, log_view
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
            return client.find_run(PROJECT, RUN) is not None and _store_state(client, downloads) == local

        await _sync_until(config, HttpSink(store.url, token, timeout=5.0), complete)
        remote = await anyio.to_thread.run_sync(_store_state, client, downloads)
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
        assert await anyio.to_thread.run_sync(_store_state, client, downloads) == remote
