"""Series at scale: ingest rate and aggregated-read latency as the stored points grow, per backend.

One store per backend grows through the levels (default 10^6 and 10^7 points; add 1e8 where disk
and time allow) with runs of 10 float series; each batch holds 10 entries of 1,000 points. At each
level it measures, at that table size:

- ingest: points/s and points per CPU second of the store process over a window of new series,
  with chunk summaries (this layout) and without them (the row-per-point layout: the same code with
  the chunk upkeep switched off for the window's fields) in alternating batches;
- aggregated read: 1,000 step buckets over the level's newest 1M-point series from the chunks, vs
  the row-per-point read (the per-bucket index scans over ``points`` the store used before);
- bytes per point: the ``points`` table (index included), the chunk and the summary tables.

With ``--long N`` it then logs one series of N points (10^7: issue 12's chart) and times 1,000- and
4,000-bucket reads of it, over the whole series and over an unaligned sub-range (edges cut chunks
and nodes anywhere), in wall and CPU time of this process (SQLite runs in it; PostgreSQL's server
time is in the wall figure only), next to the row-per-point read.

    nice .venv/bin/python bench/series_scale.py                  # 1e6, 1e7 on SQLite and PostgreSQL
    nice .venv/bin/python bench/series_scale.py --levels 1e6 --backends sqlite
    nice .venv/bin/python bench/series_scale.py --levels 1e6 --long 1e7 --backends sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).parents[1]
sys.path[:0] = [str(ROOT / "tests" / "store")]

from store_helpers import reachable_pg  # noqa: E402

from neptune_sync.wire import ops  # noqa: E402
from neptune_sync.wire.ops import Entry  # noqa: E402
from neptune_sync.wire.protocol import BatchRequest, RunInfo  # noqa: E402
from neptune_sync_store.storage import chunks, make_storage  # noqa: E402
from neptune_sync_store.storage.aggregate import step_edges  # noqa: E402

PER_ENTRY = 1_000
SERIES_PER_RUN = 10
BIG = 1_000_000  # points of the series each level reads
WINDOW = 200_000  # points ingested per layout at each level for the rate
BUCKETS = 1_000
ROUNDS = 4  # alternations of the two layouts in an ingest window


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_info(key: str) -> RunInfo:
    return RunInfo("bench/scale", key, key, "", "run")


def batches(run: str, points_per_series: int, series: int = SERIES_PER_RUN):
    """Batches of a run logging ``series`` float series of ``points_per_series`` points, interleaved."""
    seqs = 1
    for start in range(0, points_per_series, PER_ENTRY):
        entries = []
        for p in range(series):
            pts = tuple(
                ops.FloatPoint(float(s), 1.0 / (1 + s * 1e-4) + (p % 7) * 0.01, 1.7e9 + s)
                for s in range(start, min(points_per_series, start + PER_ENTRY))
            )
            entries.append(Entry(seqs, 1.7e9 + start, ops.LogFloats(f"m/s{p}", pts)))
            seqs = entries[-1].last_seq + 1
        yield BatchRequest(run_info(run), "w1", entries)


async def ingest(
    storage, run: str, points_per_series: int, series: int = SERIES_PER_RUN
) -> tuple[int, float, float]:
    """(points, seconds, CPU seconds) of logging one run (its batches are built before the clock starts)."""
    reqs = list(batches(run, points_per_series, series))
    n, t0, c0 = 0, time.perf_counter(), cpu()
    for req in reqs:
        await storage.apply_batch(req)
        n += sum(len(e.op.points) for e in req.entries)
    return n, time.perf_counter() - t0, cpu() - c0


async def row_per_point_buckets(storage, fid: int, lo: float, hi: float, n: int) -> int:
    """The row-per-point read: one index range scan of ``points`` per bucket, plus its last point."""
    edges = step_edges(lo, hi, n)
    got = 0
    for k in range(n):
        a, b = edges[k], edges[k + 1]
        op = "<=" if k == n - 1 else "<"
        sql = (
            "SELECT MIN(step), MAX(step), MIN(num), MAX(num), COUNT(*) FROM points"
            f" WHERE field=:f AND step>=:a AND step{op}:b"
        )
        ((s0, s1, _lo, _hi, c),) = await storage.fetch_named(sql, {"f": fid, "a": a, "b": b})
        if c:
            await storage.fetch_named(
                "SELECT num, ts FROM points WHERE field=:f AND step=:s", {"f": fid, "s": s1}
            )
            got += 1
    return got


async def field_id(storage, run: str, path: str) -> int:
    sql = "SELECT f.id FROM fields f JOIN runs r ON f.run=r.id WHERE r.project='bench/scale' AND r.run_key=:r AND f.path=:p"
    ((fid,),) = await storage.fetch_named(sql, {"r": run, "p": path})
    return fid


async def best_of(fn, times: int = 3) -> float:
    best = float("inf")
    for _ in range(times):
        t0 = time.perf_counter()
        await fn()
        best = min(best, time.perf_counter() - t0)
    return best


SIZED = ("points", "series_chunks", "series_summaries")


async def sizes(storage, backend: str) -> list[int]:
    """Bytes of each table of SIZED, indexes included."""
    if backend == "postgres":
        rows = await storage.fetch_named(
            "SELECT " + ", ".join(f"pg_total_relation_size('{t}')" for t in SIZED), {}
        )
        return list(rows[0])
    out = []
    for table in SIZED:
        ((b,),) = await storage.fetch_named(
            "SELECT SUM(pgsize) FROM dbstat WHERE name IN (SELECT name FROM sqlite_master WHERE tbl_name=:t)",
            {"t": table},
        )
        out.append(b or 0)
    return out


async def level_figures(storage, tag: str) -> dict:
    # ingest at this size: a window with chunk upkeep (this layout) and one without (row per point)
    # in ROUNDS alternating parts, so load on the machine hits both alike
    part = WINDOW // SERIES_PER_RUN // ROUNDS
    new, old = (0, 0.0, 0.0), (0, 0.0, 0.0)
    for r in range(ROUNDS):
        got = await ingest(storage, f"{tag}-win-chunks{r}", part)
        new = tuple(a + b for a, b in zip(new, got, strict=True))
        with mock.patch.object(chunks, "change_of", lambda state: None):
            got = await ingest(storage, f"{tag}-win-rows{r}", part)
        old = tuple(a + b for a, b in zip(old, got, strict=True))
    # the newest 1M-point series: read from chunks and row per point
    run = f"{tag}-big"
    fid = await field_id(storage, run, "m/s0")
    lo, hi = 0.0, float(BIG - 1)
    read_new = await best_of(
        lambda: storage.series_buckets(
            "bench/scale", run, "m/s0", x="step", start=-1e18, stop=1e18, buckets=BUCKETS
        )
    )
    read_old = await best_of(lambda: row_per_point_buckets(storage, fid, lo, hi, BUCKETS), times=1)
    return {"new": new, "old": old, "read_new": read_new, "read_old": read_old}


async def best_cpu(fn, times: int = 3) -> tuple[float, float]:
    """Best wall and best CPU seconds of ``fn`` over ``times`` runs."""
    wall = cpu_s = float("inf")
    for _ in range(times):
        t0, c0 = time.perf_counter(), time.process_time()
        await fn()
        wall, cpu_s = min(wall, time.perf_counter() - t0), min(cpu_s, time.process_time() - c0)
    return wall, cpu_s


async def long_series(storage, points: int) -> None:
    """Reads of one series of ``points`` points."""
    got, t, _ = await ingest(storage, "long", points, series=1)
    print(f"\nlong series: {got:,} points logged in {t:.0f} s")
    fid = await field_id(storage, "long", "m/s0")
    for start, stop in ((0.0, points - 1.0), (points * 0.0123 + 0.5, points * 0.7654 + 0.25)):
        for n in (1_000, 4_000):
            wall, cpu_s = await best_cpu(
                lambda start=start, stop=stop, n=n: storage.series_buckets(
                    "bench/scale", "long", "m/s0", x="step", start=start, stop=stop, buckets=n
                )
            )
            ends = math.ceil(start), math.floor(stop)  # the first and last logged step inside
            rows = await best_of(
                lambda ends=ends, n=n: row_per_point_buckets(storage, fid, *ends, n), times=1
            )
            print(
                f"  {n:,} buckets over steps [{start:,.2f}, {stop:,.2f}]: {wall * 1e3:.1f} ms"
                f" ({cpu_s * 1e3:.1f} ms CPU here) vs row per point {rows * 1e3:,.0f} ms"
            )


async def bench_backend(backend: str, levels: list[int], data: Path, long: int) -> None:
    if backend == "postgres":
        dsn = await reachable_pg()
        if dsn is None:
            print("postgres: unreachable, skipped")
            return
        storage = make_storage(dsn, data, pg_schema=f"bench_scale_{uuid.uuid4().hex[:10]}")
    else:
        storage = make_storage(None, data)
    await storage.open()
    stored = 0
    try:
        print(f"\n== {backend}")
        print(
            "stored pts | ingest pts/s (chunks / rows) | pts per CPU-s (chunks / rows) | "
            "1000-bucket read of 1M pts ms (chunks / rows, ratio) | B/pt points + chunks + summaries"
        )
        first = None
        for i, level in enumerate(levels):
            # grow to the level: the read series (1M points) last, the rest in 100k-point series
            filler = level - stored - BIG - WINDOW
            k = 0
            while filler > 0:
                per = min(100_000, filler // SERIES_PER_RUN) or filler
                got, _, _ = await ingest(storage, f"L{i}-fill{k}", per)
                filler -= got
                stored += got
                k += 1
            got, _, _ = await ingest(storage, f"L{i}-big", BIG, series=1)
            stored += got
            f = await level_figures(storage, f"L{i}")
            stored += f["new"][0] + f["old"][0]
            pts, chunk_bytes, summary_bytes = await sizes(storage, backend)
            (nn, nt, nc), (on, ot, oc) = f["new"], f["old"]
            row = {
                "rate": nn / nt,
                "read": f["read_new"],
            }
            first = first or row
            print(
                f"{stored:>10,} | {nn / nt:>9,.0f} / {on / ot:>9,.0f} ({(nn / nt) / (on / ot):.2f}x) | "
                f"{nn / nc:>9,.0f} / {on / oc:>9,.0f} | "
                f"{f['read_new'] * 1e3:>7.1f} / {f['read_old'] * 1e3:>7.0f} ({f['read_old'] / f['read_new']:.0f}x faster) | "
                f"{pts / stored:.1f} + {chunk_bytes / stored:.1f} + {summary_bytes / stored:.2f}"
            )
        if len(levels) > 1 and first:
            print(
                f"flatness {levels[0]:.0e} -> {levels[-1]:.0e}: ingest rate x{row['rate'] / first['rate']:.2f}, "
                f"read latency x{row['read'] / first['read']:.2f}"
            )
        if long:
            await long_series(storage, long)
    finally:
        if backend == "postgres":
            await storage.drop_schema()
        await storage.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--levels", default="1e6,1e7", help="stored points at which to measure")
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--long", type=float, default=0, help="points of one more series to read (e.g. 1e7)")
    args = ap.parse_args()
    levels = [int(float(x)) for x in args.levels.split(",")]
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
            asyncio.run(bench_backend(backend, levels, Path(tmp), int(args.long)))


if __name__ == "__main__":
    main()
