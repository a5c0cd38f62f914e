"""Two writers of one run that do not see each other (DDP ranks) break the shape rules together:
one writes a field where the other writes a namespace, or together they pass the field limit.
Synced through the real daemon (``neptune-sync sync``) to a real store on both backends, in
either delivery order, the store ends equal to the local read-back and nothing is lost: the
losing write is in its conflict path (or, past the limit, in the run's quarantine file).
"""

from __future__ import annotations

import time

import anyio
import pytest
from readback_helpers import Hidden, read_back, sync

from neptune_sync import rules
from neptune_sync.cli import main
from neptune_sync.wire import ops as o
from neptune_sync_store.testing import running_store
from neptune_syncd import sync_state

PROJECT = "team/proj"


def points(ts: float) -> tuple[o.FloatPoint, ...]:
    return tuple(o.FloatPoint(float(s), s / 10, ts) for s in range(3))


@pytest.mark.asyncio
@pytest.mark.parametrize("earlier", ["field", "namespace"])
@pytest.mark.parametrize("delivered_first", ["field", "namespace"])
async def test_a_field_and_a_namespace_at_one_path_end_equal_in_store_and_read_back(
    earlier, delivered_first, runs, tmp_path, monkeypatch, store_backend
):
    run_path = runs.create("ddp")
    now = time.time()
    t_field, t_ns = (now, now + 1) if earlier == "field" else (now + 1, now)
    rank0 = runs.writer(run_path)  # logs ``ns = 1``
    rank0.append(o.AssignInt("ns", 1), ts=t_field)
    rank0.append(o.AssignString("params/rank0", "ok"), ts=t_field)
    rank0.close()
    rank1 = runs.writer(run_path)  # logs into namespace ``ns``
    rank1.append(o.AssignInt("ns/child", 2), ts=t_ns)
    rank1.append(o.LogFloats("ns/loss", points(t_ns)), ts=t_ns)
    rank1.append(o.AssignString("params/rank1", "ok"), ts=t_ns)
    rank1.close()
    hidden = rank1 if delivered_first == "field" else rank0

    async with running_store(tmp_path / "store", **store_backend) as store:
        monkeypatch.setenv("NEPTUNE_API_TOKEN", await store.token(PROJECT))
        with Hidden(run_path, hidden.writer_id, tmp_path):
            await sync()
        await sync()
        got = await runs.store_view(store.storage, run_path.name)

    assert got == read_back(run_path)
    loss = [(float(s), s / 10, t_ns) for s in range(3)]
    if delivered_first == "field":  # the namespace's writes move under ns__conflict_namespace
        assert got["ns"] == ("int", 1)
        assert got["ns__conflict_namespace/child"] == ("int", 2)
        assert got["ns__conflict_namespace/loss"] == ("floatSeries", loss)
        assert not any(p.startswith("ns/") for p in got)
    else:  # the field's write is renamed beside the namespace
        assert got["ns/child"] == ("int", 2) and got["ns/loss"] == ("floatSeries", loss)
        assert got["ns__conflict_int"] == ("int", 1) and "ns" not in got
    assert got["params/rank0"] == got["params/rank1"] == ("string", "ok")
    conflicts = got["sys/sync/conflicts"][1]
    assert len(conflicts) == (2 if delivered_first == "field" else 1), conflicts
    assert len(got[rules.REFUSED_FIELD][1]) == len(conflicts)
    assert sync_state.read_quarantine(run_path) == []


@pytest.mark.asyncio
async def test_writers_that_together_pass_the_field_limit_end_equal_in_store_and_read_back(
    runs, tmp_path, monkeypatch, store_backend
):
    run_path = runs.create("wide")
    now = time.time()
    rank0 = runs.writer(run_path)
    for i in range(rules.MAX_FIELDS - 5):
        rank0.append(o.AssignInt(f"a/{i}", i), ts=now)
    rank0.close()
    rank1 = runs.writer(run_path)
    for i in range(10):
        rank1.append(o.AssignInt(f"b/{i}", i), ts=now + 1)
    rank1.close()

    async with running_store(tmp_path / "store", **store_backend) as store:
        monkeypatch.setenv("NEPTUNE_API_TOKEN", await store.token(PROJECT))
        with Hidden(run_path, rank1.writer_id, tmp_path):
            await sync()
        # quarantined ops leave the run not fully synced: sync says so by its exit status
        assert await anyio.to_thread.run_sync(main, ["sync", "-q"]) == 1
        got = await runs.store_view(store.storage, run_path.name)

    assert got == read_back(run_path)
    counted = [p for p in got if rules.counted(p)]
    assert len(counted) == rules.MAX_FIELDS
    assert [p for p in counted if p.startswith("b/")] == [f"b/{i}" for i in range(5)]
    quarantined = sorted(r.entry.op.path for r in sync_state.read_quarantine(run_path))
    assert quarantined == [f"b/{i}" for i in range(5, 10)]  # nothing lost: refused, kept aside
