"""What the store's batch checks cost next to applying the batch (both in this process, same run).

    .venv/bin/python bench/store_checks.py [--points 50000] [--series 10]

Builds one batch of float points the way the daemon sends them, then times (best of several)
``check_batch`` + per-op ``rejection_reason`` + the -0.0 rewrite check, and ``apply_batch`` into a
fresh SQLite store, and prints both and their ratio: the share of ingestion the checks take.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from neptune_sync.wire import ops
from neptune_sync.wire.ops import Entry
from neptune_sync.wire.protocol import BatchRequest, RunInfo, batch_request_encoder
from neptune_sync_store.canonical import without_negative_zero
from neptune_sync_store.storage import make_storage
from neptune_sync_store.validation import check_batch, rejection_reason


def batch(points: int, series: int, run_key: str) -> BatchRequest:
    entries, seq, per = [], 1, points // series
    for k in range(series):
        pts = tuple(ops.FloatPoint(float(i), i * 0.5, 1.7e9 + i / 100) for i in range(per))
        entries.append(Entry(seq, 1.7e9, ops.LogFloats(f"metrics/m{k}", pts)))
        seq += per
    return BatchRequest(RunInfo("bench/proj", run_key, "RUN"), "w1", entries)


def checks(req: BatchRequest, body: bytes) -> None:
    check_batch(req)
    for entry in req.entries:
        rejection_reason(entry.op)
    without_negative_zero(req, body)


async def best_apply(points: int, series: int, repeat: int) -> float:
    best = float("inf")
    with tempfile.TemporaryDirectory() as tmp:
        storage = make_storage(None, Path(tmp))
        await storage.open()
        try:
            for i in range(repeat):
                req = batch(points, series, f"run-{i}")  # a new run each time: the same work
                start = time.perf_counter()
                await storage.apply_batch(req)
                best = min(best, time.perf_counter() - start)
        finally:
            await storage.close()
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=50_000)
    parser.add_argument("--series", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    req = batch(args.points, args.series, "run")
    body = batch_request_encoder.encode(req)
    check = float("inf")
    for _ in range(args.repeat):
        start = time.perf_counter()
        checks(req, body)
        check = min(check, time.perf_counter() - start)
    apply = asyncio.run(best_apply(args.points, args.series, args.repeat))
    per = 1e9 / args.points
    print(f"{args.points:,} float points in {args.series} series (best of {args.repeat}):")
    print(f"  checks  {check * 1e3:8.1f} ms  ({check * per:.0f} ns/point)")
    print(f"  apply   {apply * 1e3:8.1f} ms  ({apply * per:.0f} ns/point, SQLite)")
    print(f"  checks / apply = {check / apply:.2f}")


if __name__ == "__main__":
    main()
