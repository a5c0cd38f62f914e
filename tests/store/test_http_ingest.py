"""The sync protocol over HTTP: batches, acked seq, idempotent replays, per-op conflicts, overload."""

from __future__ import annotations

import asyncio

import aiohttp
import msgspec
import pytest
from store_helpers import (
    PROJECT,
    RUN,
    TIMEOUT,
    auth,
    encode,
    floats,
    post_batch,
    post_raw,
    put_blob,
    request,
    sample_entries,
    until,
)

from neptune_sync.wire import ops
from neptune_sync.wire.ops import Entry
from neptune_sync.wire.protocol import PROTOCOL_HEADER, AckResponse, OpConflict
from neptune_sync_store.context import CONTEXT
from neptune_sync_store.testing import running_store

pytestmark = pytest.mark.asyncio


async def acked(session, url, token, writer="w1") -> int:
    params = {"project": PROJECT, "run_key": RUN.run_key, "writer_id": writer}
    async with session.get(f"{url}/v1/acked", params=params, headers=auth(token), timeout=TIMEOUT) as resp:
        assert resp.status == 200
        return msgspec.msgpack.decode(await resp.read(), type=AckResponse).applied_seq


async def test_batch_is_applied_and_acked_seq_reported(any_store):
    token = await any_store.token(PROJECT)
    entries = sample_entries()
    async with aiohttp.ClientSession() as s:
        assert await put_blob(s, any_store.url, token, b"hello") == 201
        assert await acked(s, any_store.url, token) == 0
        resp = await post_batch(s, any_store.url, token, request(entries))
        assert resp.applied_seq == entries[-1].last_seq and resp.conflicts == []
        assert await acked(s, any_store.url, token) == entries[-1].last_seq


async def test_replayed_and_overlapping_batches_over_http_leave_the_store_identical(any_store, tmp_path):
    token = await any_store.token(PROJECT)
    entries = sample_entries()
    async with aiohttp.ClientSession() as s:
        await put_blob(s, any_store.url, token, b"hello")
        await post_batch(s, any_store.url, token, request(entries))
        once = await any_store.storage.dump()
        await post_batch(s, any_store.url, token, request(entries))
        assert await any_store.storage.dump() == once
        for start, end in ((0, 5), (3, 9), (9, len(entries)), (2, len(entries))):
            resp = await post_batch(s, any_store.url, token, request(entries[start:end]))
            assert resp.applied_seq == entries[-1].last_seq
        assert await any_store.storage.dump() == once

    # a fresh store fed overlapping batches only ends up byte-for-byte equal to the single replay
    async with running_store(tmp_path / "fresh") as fresh, aiohttp.ClientSession() as s:
        token = await fresh.token(PROJECT)
        await put_blob(s, fresh.url, token, b"hello")
        for start, end in ((0, 4), (2, 10), (7, len(entries))):
            await post_batch(s, fresh.url, token, request(entries[start:end]))
        if any_store.storage.__class__ is fresh.storage.__class__:
            assert await fresh.storage.dump() == once


async def test_conflicting_op_is_reported_and_the_rest_applied(store):
    token = await store.token(PROJECT)
    async with aiohttp.ClientSession() as s:
        await post_batch(s, store.url, token, request([Entry(1, 0.0, ops.AssignInt("x", 1))]))
        batch = [Entry(2, 0.0, ops.AssignString("x", "s")), floats("y", 3, range(4))]
        resp = await post_batch(s, store.url, token, request(batch))
    assert resp.conflicts == [OpConflict(2, "x", "int", "string")]
    assert resp.applied_seq == 6
    page = await store.storage.series(PROJECT, RUN.run_key, "y", start=0, stop=9, after=-1, limit=10)
    assert len(page.points) == 4


async def test_response_echoes_the_protocol_version_and_refuses_another(store):
    token = await store.token(PROJECT)
    body = encode(request([Entry(1, 0.0, ops.AssignInt("x", 1))]))
    async with aiohttp.ClientSession() as s:
        headers = {**auth(token), PROTOCOL_HEADER: "1"}
        async with s.post(f"{store.url}/v1/batches", data=body, headers=headers, timeout=TIMEOUT) as resp:
            assert resp.status == 200 and resp.headers[PROTOCOL_HEADER] == "1"
        headers[PROTOCOL_HEADER] = "99"
        async with s.post(f"{store.url}/v1/batches", data=body, headers=headers, timeout=TIMEOUT) as resp:
            assert resp.status == 400 and "protocol version" in (await resp.json())["message"]


async def test_overload_answers_429_with_retry_after_and_recovers(tmp_path):
    async with running_store(tmp_path, max_inflight=1) as store, aiohttp.ClientSession() as s:
        token = await store.token(PROJECT)
        body = encode(request([Entry(1, 0.0, ops.AssignInt("x", 1))]))
        release = asyncio.Event()

        async def slow_body():
            yield body[:10]
            await asyncio.wait_for(release.wait(), 10)
            yield body[10:]

        holder = asyncio.create_task(post_raw(s, store.url, token, slow_body()))
        slots = store.app[CONTEXT].ingest_slots
        await asyncio.wait_for(until(lambda: slots.in_use == 1), 10)  # the slow request holds the only slot
        status, err, headers = await post_raw(s, store.url, token, body)
        assert status == 429 and headers["Retry-After"] == "1" and err["error"] == "overloaded"
        release.set()
        status, resp, _ = await asyncio.wait_for(holder, 10)
        assert status == 200 and resp.applied_seq == 1


async def test_a_storage_failure_is_a_json_500_and_logged(store, caplog):
    token = await store.token(PROJECT)
    await store.storage.close()  # the database goes away under the running server
    async with aiohttp.ClientSession() as s:
        status, err, _ = await post_raw(
            s, store.url, token, encode(request([Entry(1, 0.0, ops.AssignInt("x", 1))]))
        )
    assert status == 500 and err["error"] == "internal"
    assert "POST /v1/batches failed" in caplog.text


async def test_concurrent_writers_of_one_run_all_land(backend, tmp_path):
    """Several writers (DDP ranks) of one run post at once, sharing a path: every batch applies once."""
    db, schema = backend
    async with (
        running_store(tmp_path, db=db, pg_schema=schema, max_inflight=64) as store,
        aiohttp.ClientSession() as s,
    ):
        token = await store.token(PROJECT)

        async def writer(rank: int) -> list[int]:
            acked = []
            for b in range(5):
                seq = b * 11 + 1
                batch = [
                    Entry(seq, 0.0, ops.AssignInt("shared/int", rank)),
                    floats(f"rank{rank}/loss", seq + 1, range(b * 10, b * 10 + 10)),
                ]
                acked.append(
                    (await post_batch(s, store.url, token, request(batch, writer=f"rank{rank}"))).applied_seq
                )
            return acked

        results = await asyncio.wait_for(asyncio.gather(*(writer(r) for r in range(4))), 60)
        assert results == [[11, 22, 33, 44, 55]] * 4
        values = {v.path: v for v in await store.storage.field_values(PROJECT, RUN.run_key, [])}
        assert values["shared/int"].type == "int" and values["shared/int"].value in range(4)
        assert all(values[f"rank{r}/loss"].last_step == 49.0 for r in range(4))
        for r in range(4):
            assert await acked(s, store.url, token, writer=f"rank{r}") == 55
