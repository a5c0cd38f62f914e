"""Bucketed reads walk the summary levels: on every backend, the rows a read fetches grow with the
buckets (at most FANOUT per level and bucket edge), not with the series, and the answer stays the
model's (test_buckets_contract.model, which imports nothing of the store)."""

from __future__ import annotations

import pytest
from store_helpers import PROJECT, RUN, request
from test_buckets_contract import as_dict, log, model

from neptune_sync.wire import ops
from neptune_sync.wire.ops import Entry
from neptune_sync_store.storage import aggregate, chunks, summaries

pytestmark = pytest.mark.asyncio


def counting(fetch, counts: list[int]):
    async def fetch_counted(sql, values):
        rows = await fetch(sql, values)
        counts.append(len(rows))
        return rows

    return fetch_counted


@pytest.mark.parametrize("buckets", [1, 10, 37])
async def test_a_read_fetches_rows_per_bucket_edge_not_per_chunk(storage, monkeypatch, buckets):
    monkeypatch.setattr(chunks, "CHUNK_POINTS", 4)
    monkeypatch.setattr(summaries, "FANOUT", 2)
    monkeypatch.setattr(summaries, "LEVELS", 8)
    points = [(float(s), float((s * 7919) % 1009) - 500.0, 1e3 + s) for s in range(8000)]
    for i in range(0, 8000, 200):  # levels are added as the series grows; a point takes a seq
        part = tuple(ops.FloatPoint(*p) for p in points[i : i + 200])
        await storage.apply_batch(request([Entry(i + 1, float(i), ops.LogFloats("m", part))]))
    ((fid, _),) = await storage.fetch_named(
        "SELECT f.id, f.type FROM fields f JOIN runs r ON f.run = r.id WHERE r.run_key = :r AND f.path = 'm'",
        {"r": RUN.run_key},
    )
    top = "SELECT level, count(*) FROM series_summaries GROUP BY level ORDER BY level DESC LIMIT 1"
    ((level, tops),) = await storage.fetch_named(top, {})
    assert level == summaries.LEVELS and tops <= 16  # 2,000 chunks over 2^7 per top node
    for start, stop in ((0.0, 7999.0), (1234.5, 6543.25)):
        inside = [p for p in points if start <= p[0] <= stop]
        lo, hi = inside[0][0], inside[-1][0]  # a read buckets the range its points span
        counts: list[int] = []
        rows = await aggregate.chunk_bucket_rows(
            counting(storage.fetch_named, counts),
            storage.bucket_sql,
            storage.chunk_summaries,
            fid,
            lo,
            hi,
            buckets,
        )
        edges = buckets + 1
        assert sum(counts) <= tops + edges * summaries.FANOUT * summaries.LEVELS, (lo, hi, counts)
        got = aggregate.grouped_buckets(RUN.run_key, "m", "step", lo, hi, rows)
        assert as_dict(got) == model(points, "step", start, stop, buckets)
    full = await storage.series_buckets(
        PROJECT, RUN.run_key, "m", x="step", start=0, stop=7999, buckets=buckets
    )
    assert as_dict(full) == model(points, "step", 0, 7999, buckets)


async def test_clearing_the_trash_deletes_a_runs_chunks_and_summaries(storage):
    await log(storage, "m", [(float(s), float(s), 1.0 + s) for s in range(3000)])
    count = "SELECT count(*) FROM {}"
    assert all([await storage.fetch_named(count.format(t), {}) != [(0,)] for t in TABLES])
    assert [r.run_key for r in await storage.trash(PROJECT, [RUN.run_key], 5.0)] == [RUN.run_key]
    assert await storage.clear_trash(PROJECT) == 1
    assert [await storage.fetch_named(count.format(t), {}) for t in TABLES] == [[(0,)]] * len(TABLES)


TABLES = ("points", "series_chunks", "series_summaries")
