"""The daemon against the real store behind a faulty proxy: every transient failure ends equal to a
clean sync, with no duplicate series points."""

from __future__ import annotations

import anyio
import msgspec
import pytest

from neptune_sync.wire import ops as o
from neptune_sync_store.context import CONTEXT
from neptune_syncd.notify import Notifier
from neptune_syncd.service import Service
from neptune_syncd.sinks.http import HttpSink
from neptune_syncd.sync_state import read_quarantine

POINTS = 2000


def service_for(config, proxy, token):
    config = msgspec.structs.replace(config, batch=msgspec.structs.replace(config.batch, max_ops=400))
    return Service(config, HttpSink(proxy.url, token, timeout=0.3), Notifier({}))


async def wait_equal(store, runs, paths, timeout=15.0):
    with anyio.fail_after(timeout):
        while True:
            views = [await runs.store_view(store.storage, p.name) for p in paths]
            if all(v == runs.normalized(runs.expected(p)) for v, p in zip(views, paths, strict=True)):
                return views
            await anyio.sleep(0.05)


async def serve_until_equal(service, store, runs, paths):
    async with anyio.create_task_group() as tg:
        await tg.start(service.run)
        views = await wait_equal(store, runs, paths)
        await service.stop()
    return views


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "faults",
    [["429", "429", "429"], ["500", "500", "500"], ["reset", "reset"], ["hang"], ["drop", "drop"]],
    ids=["429-retry-after", "500s", "connection-reset", "timeout", "response-dropped-after-apply"],
)
async def test_transient_faults_end_equal_to_clean_sync(runs, config, proxied_store, faults):
    proxy, store, token = proxied_store
    proxy.faults = list(faults)
    paths = [runs.create(f"run{i}") for i in range(2)]
    for p in paths:
        runs.all_types(p, points=POINTS)
    views = await serve_until_equal(service_for(config, proxy, token), store, runs, paths)
    for view in views:
        assert len(view["train/loss"][1]) == POINTS
    assert not proxy.faults, "every scripted fault was met"
    assert len(proxy.batch_log) > len(faults) + 2
    if faults[0] == "429":  # each run's next try waited the Retry-After (0.05 s; backoff is 0.01 s)
        waits = []
        for i, (at, fault, run_key) in enumerate(proxy.batch_log):
            later = [t for t, _, key in proxy.batch_log[i + 1 :] if key == run_key]
            if fault == "429":
                waits.append(later[0] - at)
        assert len(waits) == 3 and min(waits) >= 0.05, waits


@pytest.mark.asyncio
async def test_store_down_then_back_catches_up(runs, config, proxied_store):
    proxy, store, token = proxied_store
    path = runs.create("outage")
    runs.all_types(path, points=POINTS)
    await proxy.stop()  # the store is unreachable: connections are refused
    service = service_for(config, proxy, token)
    async with anyio.create_task_group() as tg:
        await tg.start(service.run)
        await anyio.sleep(0.5)
        assert service.replicators[path].state.last_error.startswith("store unavailable")
        assert await runs.store_view(store.storage, path.name) == {}
        await proxy.start()
        await wait_equal(store, runs, [path])
        await service.stop()
    assert service.replicators == {}


@pytest.mark.asyncio
async def test_interrupted_blob_upload_resumes_where_it_stopped(runs, config, proxied_store):
    proxy, store, token = proxied_store
    path = runs.create("blob")
    w = runs.writer(path)
    ref = runs.file_ref(path, bytes(range(256)) * 4096, "big.bin")  # 1 MiB
    w.append(o.AssignFile("model/big", ref))
    w.close()
    proxy.blob_faults = ["cut"]
    await serve_until_equal(service_for(config, proxy, token), store, runs, [path])
    offsets = [int(h["X-Upload-Offset"]) for method, _, h in proxy.requests if method == "PUT"]
    # the cut upload left half the blob in the store; the last attempt sends only the rest
    # (one in between may be refused while the store still finishes the cut one)
    assert offsets[0] == 0 and offsets[-1] == ref.size // 2 and len(offsets) <= 3, offsets


@pytest.mark.asyncio
async def test_conflicts_of_a_batch_whose_answer_was_lost_are_still_resolved(runs, config, proxied_store):
    proxy, store, token = proxied_store
    path = runs.create("lost-conflict")
    a = runs.writer(path, writer_id="a" * 16)
    a.append(o.AssignFloat("lr", 0.5))
    a.append(o.AssignString("name", "x"))
    a.close()
    service = service_for(config, proxy, token)
    async with anyio.create_task_group() as tg:
        await tg.start(service.run)
        with anyio.fail_after(15):  # the first write fixes a field's type: a's types first
            while "name" not in await runs.store_view(store.storage, path.name):
                await anyio.sleep(0.05)
        proxy.faults = ["drop"]  # writer b's batch is applied, its answer (with the conflicts) lost
        b = runs.writer(path, writer_id="b" * 16)
        b.append(o.AssignInt("lr", 3))
        b.append(o.AssignFloat("name", 1.5))
        b.close()
        with anyio.fail_after(15):
            while (
                "sys/sync/conflicts" not in (view := await runs.store_view(store.storage, path.name))
                or len(view["sys/sync/conflicts"][1]) < 2
            ):
                await anyio.sleep(0.05)
        await service.stop()
    assert not proxy.faults
    view = await runs.store_view(store.storage, path.name)
    assert view["lr"] == ("float", 3.0)
    assert view["name"] == ("string", "x") and view["name__conflict_float"] == ("float", 1.5)


@pytest.mark.asyncio
async def test_blob_the_store_lost_is_uploaded_again_not_quarantined(runs, config, proxied_store):
    proxy, store, token = proxied_store
    path = runs.create("lost-blob")
    w = runs.writer(path)
    ref = runs.file_ref(path, b"weights v1" * 1000, "w1.bin")
    w.append(o.AssignFile("model/a", ref))
    w.close()
    service = service_for(config, proxy, token)
    async with anyio.create_task_group() as tg:
        await tg.start(service.run)
        await wait_equal(store, runs, [path])
        store_blob = store.app[CONTEXT].blobs.file_path(ref.sha256)
        store_blob.unlink()  # the store loses the blob the daemon believes it has
        w2 = runs.writer(path)
        w2.append(o.AssignFile("model/b", ref))
        w2.close()
        service.replicators[path].nudge()
        await wait_equal(store, runs, [path])
        await service.stop()
    assert store_blob.is_file()
    assert service.replicators == {} and not (path / "sync" / "quarantine.jsonl").exists()


@pytest.mark.asyncio
async def test_corrupt_local_blob_quarantines_its_op_and_the_run_goes_on(runs, config, proxied_store):
    proxy, store, token = proxied_store
    path = runs.create("bad-blob")
    w = runs.writer(path)
    ref = runs.file_ref(path, b"original content", "a.bin")
    w.append(o.AssignFile("model/a", ref))
    w.append(o.AssignString("after", "still synced"))
    w.close()
    blob = path / "blobs" / ref.sha256[:2] / ref.sha256
    blob.write_bytes(b"changed under our feet")  # no longer hashes to its name: the store says 422
    service = service_for(config, proxy, token)
    async with anyio.create_task_group() as tg:
        await tg.start(service.run)
        with anyio.fail_after(15):
            while "after" not in await runs.store_view(store.storage, path.name):
                await anyio.sleep(0.05)
        await service.stop()
    records = read_quarantine(path)
    assert [r.path for r in records] == ["model/a"] and "409" in records[0].reason


@pytest.mark.asyncio
async def test_a_run_the_store_refuses_does_not_stop_the_others(runs, config, proxied_store):
    proxy, store, token = proxied_store
    good = runs.create("good")
    runs.all_types(good, points=100)
    bad = runs.create("bad", project="not a project")  # GET /v1/acked answers 400
    runs.all_types(bad, points=100)
    service = service_for(config, proxy, token)
    async with anyio.create_task_group() as tg:
        await tg.start(service.run)
        await wait_equal(store, runs, [good])
        with anyio.fail_after(5):
            while not service.replicators[bad].state.last_error:
                await anyio.sleep(0.02)
        assert "store refuses this run" in service.replicators[bad].state.last_error
        await service.stop()
