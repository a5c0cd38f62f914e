"""Blobs at the edges, through the daemon into the real store: an upload whose every byte reached
the store before the uploader died, and empty files in every file-carrying op."""

from __future__ import annotations

import asyncio
import hashlib
import os

import aiohttp
import anyio
import pytest

import neptune_sync as neptune
from neptune_sync.cli import main
from neptune_sync.oplog.layout import iter_run_dirs
from neptune_sync.wire import ops as o
from neptune_sync.wire.protocol import RunInfo
from neptune_sync_store.blobs import partial_owner
from neptune_sync_store.context import CONTEXT
from neptune_sync_store.testing import running_store
from neptune_syncd.sinks.http import HttpSink
from neptune_syncd.sync_state import read_quarantine

PROJECT = "team/proj"
RUN = RunInfo(PROJECT, "blob-run", "BLOB-1")  # whose project the sink uploads for


class UploaderDied(Exception):
    pass


async def upload_all_bytes_then_die(url: str, token: str, data: bytes) -> None:
    """Send every byte of a blob, chunked, then drop the connection before the upload's end."""

    async def body():
        yield data
        await asyncio.sleep(0.1)
        raise UploaderDied

    headers = {"Authorization": f"Bearer {token}", "X-Blob-Size": str(len(data))}
    async with aiohttp.ClientSession() as s:
        with pytest.raises(aiohttp.ClientError):
            await s.put(f"{url}/v1/blobs/{hashlib.sha256(data).hexdigest()}", data=body(), headers=headers)


async def sync(capsys) -> tuple[int, str]:
    with anyio.fail_after(60):
        code = await anyio.to_thread.run_sync(main, ["sync"])
    return code, capsys.readouterr().out


@pytest.mark.asyncio
async def test_a_blob_whose_bytes_all_reached_the_store_is_committed_and_its_op_synced(
    runs, tmp_path, monkeypatch, capsys
):
    path = runs.create("full-partial")
    data = os.urandom(300_000)
    ref = runs.file_ref(path, data, "model.pt")
    w = runs.writer(path)
    w.append(o.AssignFile("model/weights", ref))
    w.append(o.AssignString("after", "synced too"))
    w.close()
    async with running_store(tmp_path / "store") as store:
        token = await store.token(PROJECT)
        await upload_all_bytes_then_die(store.url, token, data)
        blobs = store.app[CONTEXT].blobs
        with anyio.fail_after(10):
            while await blobs.received(ref.sha256, partial_owner(PROJECT)) < len(data):
                await anyio.sleep(0.02)
        assert await blobs.size(ref.sha256) is None
        monkeypatch.setenv("NEPTUNE_API_TOKEN", token)
        code, out = await sync(capsys)
        assert code == 0, out
        assert blobs.file_path(ref.sha256).read_bytes() == data
        assert await runs.store_view(store.storage, path.name) == runs.normalized(runs.expected(path))
    assert not read_quarantine(path)


@pytest.mark.asyncio
async def test_the_sink_commits_full_and_empty_blobs(runs, tmp_path):
    path = runs.create("sink")
    data = b"x" * 1000
    full, empty = runs.file_ref(path, data), runs.file_ref(path, b"")
    async with running_store(tmp_path / "store") as store:
        token = await store.token(PROJECT)
        await upload_all_bytes_then_die(store.url, token, data)
        blobs = store.app[CONTEXT].blobs
        with anyio.fail_after(10):
            while await blobs.received(full.sha256, partial_owner(PROJECT)) < len(data):
                await anyio.sleep(0.02)
        sink = HttpSink(store.url, token)
        await sink.open()
        try:
            for ref in (full, empty):
                assert not await sink.has_blob(RUN, ref)
                await sink.put_blob(RUN, ref, path / "blobs" / ref.sha256[:2] / ref.sha256)
                assert await sink.has_blob(RUN, ref)
        finally:
            await sink.close()
        assert blobs.file_path(empty.sha256).read_bytes() == b""


@pytest.mark.asyncio
async def test_empty_files_sync_through_every_file_op(isolated_data_dir, tmp_path, monkeypatch, capsys, runs):
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "__init__.py").write_bytes(b"")
    (src / "pkg" / "train.py").write_text("print('train')\n")
    (src / "empty.bin").write_bytes(b"")
    monkeypatch.chdir(src)
    with neptune.init_run(project=PROJECT, mode="offline", custom_run_id="empties") as run:
        run["model/empty"].upload(str(src / "empty.bin"))
        run["source"].upload_files("pkg")  # a tree holding an empty __init__.py
        run["set"].upload_files(str(src / "empty.bin"))
        run["images"].append(neptune.types.File.from_content(b"", extension="bin"))
        run["images"].append(neptune.types.File.from_content(b"not empty", extension="bin"))
        run["params/x"] = 1
    (path,) = iter_run_dirs(isolated_data_dir)
    async with running_store(tmp_path / "store") as store:
        monkeypatch.setenv("NEPTUNE_API_TOKEN", await store.token(PROJECT))
        code, out = await sync(capsys)
        assert code == 0, out
        view = await runs.store_view(store.storage, path.name)
        blobs = store.app[CONTEXT].blobs
        want = runs.normalized(runs.expected(path))
        assert view == want
        empty_sha = hashlib.sha256(b"").hexdigest()
        assert view["model/empty"][1]["sha256"] == empty_sha
        assert view["source"][1]["pkg/__init__.py"]["sha256"] == empty_sha
        assert view["images"][1][0][1]["sha256"] == empty_sha
        assert blobs.file_path(empty_sha).read_bytes() == b""
    assert not read_quarantine(path)


@pytest.mark.asyncio
async def test_the_sink_restarts_a_partial_longer_than_the_blob(runs, tmp_path):
    path = runs.create("long-partial")
    data = b"the real content"
    ref = runs.file_ref(path, data)
    async with running_store(tmp_path / "store") as store:
        token = await store.token(PROJECT)
        headers = {"Authorization": f"Bearer {token}", "X-Blob-Size": "1000"}
        async with (
            aiohttp.ClientSession() as s,
            s.put(f"{store.url}/v1/blobs/{ref.sha256}", data=b"x" * 100, headers=headers) as resp,
        ):
            assert resp.status == 202  # someone announced the wrong size and stopped at 100 bytes
        sink = HttpSink(store.url, token)
        await sink.open()
        try:
            await sink.put_blob(RUN, ref, path / "blobs" / ref.sha256[:2] / ref.sha256)
        finally:
            await sink.close()
        assert store.app[CONTEXT].blobs.file_path(ref.sha256).read_bytes() == data


@pytest.mark.asyncio
async def test_the_sink_gives_up_on_an_upload_that_makes_no_progress(runs, tmp_path):
    from neptune_sync.exceptions import BatchRejectedError

    path = runs.create("short-local")
    data = b"0123456789" * 100
    ref = runs.file_ref(path, data)
    local = path / "blobs" / ref.sha256[:2] / ref.sha256
    local.write_bytes(data[:400])  # the local copy lost its end: the store can never complete it
    async with running_store(tmp_path / "store") as store:
        sink = HttpSink(store.url, await store.token(PROJECT))
        await sink.open()
        try:
            with anyio.fail_after(10), pytest.raises(BatchRejectedError, match="no progress at byte 400"):
                await sink.put_blob(RUN, ref, local)
        finally:
            await sink.close()
