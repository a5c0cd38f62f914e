"""One op the store cannot take never blocks a run: the daemon isolates it, quarantines it, reports
it (``status``, the exit code and output of ``sync``), and everything else reaches the store."""

from __future__ import annotations

import datetime as dt
import json
import math

import anyio
import msgspec
import pytest

from neptune_sync.cli import main
from neptune_sync.wire import ops as o
from neptune_sync_store.testing import running_store
from neptune_syncd.notify import Notifier
from neptune_syncd.service import Service
from neptune_syncd.sinks.http import HttpSink
from neptune_syncd.sync_state import read_quarantine

PROJECT = "team/proj"


def without(expected: dict, *paths: str) -> dict:
    return {k: v for k, v in expected.items() if k not in paths}


def write_with_poison(runs, path, poison: list[o.Op], ts: dict[int, float] | None = None) -> None:
    """Every op type, then the poison ops one by one, each followed by a good op."""
    runs.all_types(path, points=500)
    w = runs.writer(path)
    for i, op in enumerate(poison):
        w.append(op, ts=(ts or {}).get(i))
        w.append(o.AssignInt(f"after/{i}", i))
    for step in range(500, 700):
        w.append_float("train/loss", step, 0.5, 1_700_000_100.0)
    w.close()


@pytest.mark.asyncio
async def test_an_op_the_store_fails_on_is_quarantined_and_the_run_goes_on(runs, config, proxied_store):
    proxy, store, token = proxied_store
    proxy.fail_paths = {"poison/x"}  # the store answers 500 to every batch holding this op
    path = runs.create("poisoned")
    write_with_poison(runs, path, [o.AssignString("poison/x", "makes the store fail")])
    config = msgspec.structs.replace(config, isolate_after=3)
    service = Service(config, HttpSink(proxy.url, token, timeout=5), Notifier({}))
    want = without(runs.normalized(runs.expected(path)), "poison/x")
    async with anyio.create_task_group() as tg:
        await tg.start(service.run)
        with anyio.fail_after(30):
            while await runs.store_view(store.storage, path.name) != want:
                await anyio.sleep(0.05)
            while not service.replicators[path].state.quarantined:
                await anyio.sleep(0.02)
        await service.stop()
    records = read_quarantine(path)
    assert [r.path for r in records] == ["poison/x"]
    assert "HTTP 500" in records[0].reason and "3 times in a row" in records[0].reason
    assert len(proxy.batch_log) < 60, "isolation halves the batch; it does not retry op by op"


@pytest.mark.asyncio
async def test_a_store_answering_503_for_a_while_quarantines_nothing(runs, config, proxied_store):
    proxy, store, token = proxied_store
    path = runs.create("outage")
    runs.all_types(path, points=50)
    proxy.faults = ["503"] * 12  # unavailable, not the batch's fault: retried, never isolated
    config = msgspec.structs.replace(config, isolate_after=2)
    service = Service(config, HttpSink(proxy.url, token, timeout=5), Notifier({}))
    want = runs.normalized(runs.expected(path))
    async with anyio.create_task_group() as tg:
        await tg.start(service.run)
        with anyio.fail_after(30):
            while await runs.store_view(store.storage, path.name) != want:
                await anyio.sleep(0.05)
        await service.stop()
    assert not proxy.faults and not read_quarantine(path)


POISON = [
    o.AssignString("p/nul", "a\x00b"),  # PostgreSQL cannot hold NUL in text
    o.LogStrings("p/nul_series", (o.StringPoint(0, "x\x00", 1.0),)),
    o.AddStrings("sys/tags", ("tag\x00",)),
    o.AssignInt("p/huge", 2**64 - 1),
    o.LogFloats("p/nan_ts", (o.FloatPoint(0, 1.0, math.nan),)),
    o.AssignInt("p/inf_entry_ts", 1),
    o.AssignDatetime("p/naive", dt.datetime(2024, 1, 1)),
]
POISON_TS = {5: math.inf}  # the entry timestamp of POISON[5]
POISON_PATHS = [op.path for op in POISON if op.path != "sys/tags"]


@pytest.mark.asyncio
async def test_sync_of_real_poison_inputs_quarantines_them_and_names_them(
    runs, tmp_path, monkeypatch, capsys, store_backend
):
    path = runs.create("real-poison")
    write_with_poison(runs, path, POISON, POISON_TS)
    async with running_store(tmp_path / "store", **store_backend) as store:
        monkeypatch.setenv("NEPTUNE_API_TOKEN", await store.token(PROJECT))
        with anyio.fail_after(60):
            code = await anyio.to_thread.run_sync(main, ["sync", "-q"])
        view = await runs.store_view(store.storage, path.name)
        run = await store.storage.find_run(PROJECT, path.name)
    out = capsys.readouterr().out
    assert code == 1, out
    want = without(runs.normalized(runs.expected(path)), *POISON_PATHS)
    want["sys/tags"] = ("stringSet", ["a", "c"])  # the tag with NUL never arrived
    assert view == want
    assert math.isfinite(run.created)
    records = read_quarantine(path)
    assert sorted(r.path for r in records) == sorted([*POISON_PATHS, "sys/tags"])
    for record in records:  # the output names each quarantined op
        assert f"{record.path!r}" in out and f"seq {record.seq}" in out, out
    capsys.readouterr()
    assert main(["status", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["quarantined"] == len(POISON)
