"""Property: bucketed reads of float series equal an independent model over the merged points,
whatever the delivery order of several writers' batches, with replacements of steps by later-keyed
writers, out-of-order points, clears and deletes; chunks and summary nodes are made tiny so every read
crosses many chunk and node boundaries and takes nodes of every level whole. The model is merge_model (the kept points) and the documented bucket rule
(test_buckets_contract.model); neither imports the store."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from merge_model import content
from store_helpers import request
from test_buckets_contract import as_dict, model
from test_merge_property import delivery, entries_of

from neptune_sync_store.storage import chunks, summaries

pytestmark = pytest.mark.asyncio
PATHS = ["m/a", "m/b"]
WRITERS = ["w-a", "w-b", "w-c"]


@st.composite
def writer_log(draw: st.DrawFn) -> list[tuple]:
    """Float points (runs of rising steps, and stray lower ones), clears and deletes, with
    timestamps mostly rising, sometimes equal to another writer's or stepping back."""
    t = float(draw(st.integers(0, 6)))
    step = float(draw(st.integers(0, 20)))
    out: list[tuple] = []
    for _ in range(draw(st.integers(1, 8))):
        t += draw(st.sampled_from([0.0, 1.0, 1.0, 2.0, -3.0]))
        path = draw(st.sampled_from(PATHS))
        kind = draw(st.sampled_from(["points"] * 6 + ["clear", "delete"]))
        if kind != "points":
            out.append((kind, path, t))
            continue
        if draw(st.integers(0, 3)) == 0:
            step = float(draw(st.integers(0, 60)))  # jump back (or ahead): steps other writers hold
        points = []
        for _ in range(draw(st.integers(1, 12))):
            points.append((step, draw(st.floats(-100, 100, allow_nan=False, width=32)), t))
            step += draw(st.sampled_from([1.0, 1.0, 2.0, 0.5]))
            t += draw(st.sampled_from([0.0, 0.5, 1.0]))
        out.append(("points", path, "floatSeries", points))
    return out


def writers_st():
    return st.lists(writer_log(), min_size=1, max_size=3).map(
        lambda logs: dict(zip(WRITERS, logs, strict=False))
    )


def reads(points: list[tuple[float, float, float]]) -> list[tuple[str, float, float, int]]:
    """(x, start, stop, buckets) to ask: whole range at several widths, and sub-ranges."""
    steps = sorted(p[0] for p in points) or [0.0]
    lo, hi = steps[0], steps[-1]
    mid = steps[len(steps) // 2]
    out = [("step", -1e9, 1e9, n) for n in (1, 2, 3, 7, 50)]
    out += [("step", lo + 0.5, mid, 3), ("step", mid, hi - 0.5, 4), ("step", mid, mid, 2)]
    out += [("time", -1e9, 1e9, 3)]
    return out


async def test_bucket_reads_equal_the_model_in_any_delivery(storage, monkeypatch):
    monkeypatch.setattr(chunks, "CHUNK_POINTS", 3)
    monkeypatch.setattr(summaries, "FANOUT", 2)
    monkeypatch.setattr(summaries, "LEVELS", 3)
    seen = []

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(writers=writers_st(), data=st.data())
    def collect(writers, data):
        logs = {w: entries_of(records) for w, records in writers.items()}
        seen.append((writers, data.draw(delivery(logs), label="delivery")))

    collect()
    for i, (writers, batches) in enumerate(seen):
        run = msgspec.structs.replace(request([]).run, run_key=f"run-{i}")
        for writer, batch in batches:
            await storage.apply_batch(request(batch, run=run, writer=writer))
        expected = content(writers)
        for path in PATHS:
            got_type = await storage.series_buckets(
                run.project, run.run_key, path, x="step", start=-1e9, stop=1e9, buckets=1
            )
            if path not in expected:
                assert got_type is None, (i, path)
                continue
            points = [(s, v, ts) for s, v, ts in expected[path][1]]
            for x, start, stop, n in reads(points):
                got = await storage.series_buckets(
                    run.project, run.run_key, path, x=x, start=start, stop=stop, buckets=n
                )
                assert as_dict(got) == model(points, x, start, stop, n), (i, path, x, start, stop, n)
