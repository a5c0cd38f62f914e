"""Step buckets that snap to chunk boundaries, on every storage backend: each bucket is exact for the
points it holds (checked against the raw points, with no code of the store), the buckets tile the
range in step order, and a snapped read unpacks no chunk but those cut by the range's ends."""

from __future__ import annotations

import math

import pytest
from store_helpers import PROJECT, RUN
from test_buckets_contract import as_dict, log, model, random_points

from neptune_sync_store.storage import aggregate, chunks

pytestmark = pytest.mark.asyncio
INF = math.inf


def check_tiling(points, start: float, stop: float, n: int, got) -> None:
    """``got`` holds every point of [start, stop] once, in at most ``n`` buckets in step order, each
    reporting exactly the first / last step, min, max, count, last value and ts of its points."""
    inside = sorted(p for p in points if start <= p[0] <= stop)
    assert (got.lo, got.hi, got.raw) == (inside[0][0], inside[-1][0], False)
    assert 1 <= len(got.step) <= n
    at = 0
    for i, (s0, s1) in enumerate(zip(got.first_step, got.step, strict=True)):
        held = [p for p in inside[at:] if p[0] <= s1]
        at += len(held)
        assert held and held[0][0] == s0, (i, s0)
        assert got.min[i] == min(p[1] for p in held)
        assert got.max[i] == max(p[1] for p in held)
        assert (got.last[i], got.ts[i], got.count[i]) == (held[-1][1], held[-1][2], len(held))
    assert at == len(inside)


@pytest.mark.parametrize("seed", [1, 2])
async def test_snapped_buckets_are_exact_for_their_points_and_tile_the_range(storage, monkeypatch, seed):
    monkeypatch.setattr(chunks, "CHUNK_POINTS", 4)
    points = random_points(seed, 3000)  # 750 chunks of 4 points
    await log(storage, "m/loss", points)
    for start, stop, n in [(-INF, INF, 37), (-INF, INF, 187), (1234.5, 9876.25, 20), (-INF, 5000.0, 1)]:
        got = await storage.series_buckets(
            PROJECT, RUN.run_key, "m/loss", x="step", start=start, stop=stop, buckets=n, snap=True
        )
        assert got.snapped, (start, stop, n)
        check_tiling(points, start, stop, n, got)


async def test_too_few_chunks_per_bucket_do_not_snap(storage, monkeypatch):
    monkeypatch.setattr(chunks, "CHUNK_POINTS", 4)
    points = random_points(3, 3000)
    await log(storage, "m/loss", points)
    for start, stop, n in [(-INF, INF, 188), (-INF, INF, 400), (2000.0, 2600.0, 40)]:
        got = await storage.series_buckets(
            PROJECT, RUN.run_key, "m/loss", x="step", start=start, stop=stop, buckets=n, snap=True
        )
        assert not got.snapped
        assert as_dict(got) == model(points, "step", start, stop, n), (start, stop, n)


async def test_a_sample_request_gets_snapped_buckets_where_they_snap_and_a_sample_elsewhere(
    storage, monkeypatch
):
    monkeypatch.setattr(chunks, "CHUNK_POINTS", 4)
    points = random_points(4, 3000)
    await log(storage, "m/loss", points)
    for n, snaps in ((37, True), (400, False)):
        got = await storage.series_buckets(
            PROJECT, RUN.run_key, "m/loss", x="step", start=-INF, stop=INF, buckets=n, sample=True, snap=True
        )
        assert (got.snapped, got.sampled) == (snaps, not snaps)
        if snaps:
            check_tiling(points, -INF, INF, n, got)


async def test_a_snapped_read_unpacks_only_the_chunks_the_range_ends_cut(storage, monkeypatch):
    monkeypatch.setattr(chunks, "CHUNK_POINTS", 4)
    points = [(float(s), float((s * 7919) % 1009), 1e3 + s) for s in range(4000)]
    await log(storage, "m", points)
    ((fid, _),) = await storage.fetch_named(
        "SELECT f.id, f.type FROM fields f JOIN runs r ON f.run = r.id WHERE r.run_key = :r AND f.path = 'm'",
        {"r": RUN.run_key},
    )
    unpacked: list[int] = []

    async def fetch(sql, values):
        rows = await storage.fetch_named(sql, values)
        unpacked.extend(1 for r in rows if len(r) == 9 and r[8] is not None)
        return rows

    for lo, hi, cut in ((0.0, 3999.0, 0), (2.0, 3999.0, 1), (2.0, 3001.0, 2)):
        unpacked.clear()
        assert await aggregate.snappable(storage.fetch_named, storage.chunk_summaries, fid, lo, hi, 50)
        rows = await aggregate.chunk_bucket_rows(
            fetch, storage.bucket_sql, storage.chunk_summaries, fid, lo, hi, 50, snap=True
        )
        assert len(unpacked) == cut, (lo, hi, unpacked)
        got = aggregate.grouped_buckets(RUN.run_key, "m", "step", lo, hi, rows)
        check_tiling(points, lo, hi, 50, got)
