"""End to end below the daemon: entries written by the real op-log writer, read back by the real
reader, posted to a live store, come back from the read API as written."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from store_helpers import PROJECT, post_batch, put_blob, sha

from neptune_sync.oplog.reader import read_run
from neptune_sync.oplog.writer import OpLogWriter
from neptune_sync.store_client import StoreClient
from neptune_sync.wire import ops
from neptune_sync.wire.protocol import BatchRequest, RunInfo

pytestmark = pytest.mark.asyncio
RUN = RunInfo(PROJECT, "oplog-run", "OPLOG-1")


def write_log(segments) -> str:
    writer = OpLogWriter(segments, project=PROJECT, run_key=RUN.run_key, run_id=RUN.run_id)
    try:
        writer.append(ops.AssignString("sys/name", "from the log"))
        writer.append(ops.AssignFile("model", ops.FileRef(sha(b"weights"), 7, "model.pt", "pt")))
        for step in range(5000):
            writer.append_float("train/loss", float(step), 1.0 / (step + 1), 1.7e9 + step)
            writer.append_float(
                "train/lr", step * 0.5, 0.1, 1.7e9 + step
            )  # float steps: the other frame kind
        writer.append(ops.AssignInt("epochs", 3))
        return writer.writer_id
    finally:
        writer.close()


async def test_entries_from_the_oplog_round_trip_through_the_store(store, tmp_path):
    writer_id = write_log(tmp_path / "segments")
    entries = [entry for _, entry in read_run(tmp_path / "segments")]
    token = await store.token(PROJECT)
    async with aiohttp.ClientSession() as s:
        assert await put_blob(s, store.url, token, b"weights") == 201
        for i in range(0, len(entries), 7):  # small batches, each re-sent once
            for _ in range(2):
                resp = await post_batch(s, store.url, token, BatchRequest(RUN, writer_id, entries[i : i + 7]))
                assert resp.conflicts == [] and resp.rejected == []
    assert resp.applied_seq == entries[-1].last_seq == 2 + 10_000 + 1

    client = StoreClient.from_token(token, timeout=10)
    values = await asyncio.to_thread(client.values, PROJECT, RUN.run_id)
    assert values["sys/name"].value == "from the log" and values["epochs"].value == 3
    assert values["train/loss"].value == 1.0 / 5000 and values["train/lr"].last_step == 4999 * 0.5
    loss = await asyncio.to_thread(lambda: list(client.series(PROJECT, RUN.run_key, "train/loss", page=1000)))
    assert [p[0] for p in loss] == [float(s) for s in range(5000)]
    assert loss[10][1] == 1.0 / 11 and abs(loss[10][2] - (1.7e9 + 10)) < 1e-5
    out = await asyncio.to_thread(client.download_file, PROJECT, RUN.run_key, "model", tmp_path / "model.pt")
    assert out.read_bytes() == b"weights"
