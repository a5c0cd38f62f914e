"""Scale-out figures: many daemons against 1 and then 2 store processes on PostgreSQL + S3, and blob
throughput to the S3 server against the local directory backend, all in one run.

    nice .venv/bin/python bench/scale_out.py [--daemons 200] [--batches 10] [--points 500] [--pg DSN]

Starts SeaweedFS (``weed mini``) on loopback and ``neptune-sync server`` processes sharing one
fresh PostgreSQL schema and one bucket. Each simulated daemon has its own run and writer, uploads
one blob (and references it), then sends ``--batches`` batches of ``--points`` float points over
4 series, each batch to the next store process in turn (no affinity, as behind a load balancer),
and re-sends one earlier batch to another process, as a daemon retrying a lost answer does. The
check after each phase is exact: every writer applied to its last seq and the points table
holding exactly the points sent (nothing lost, nothing applied twice).

The box this runs on has 2 cores shared with other work, so besides wall-clock rates it prints
points per CPU-second of the store processes (what one core of a store node does); PostgreSQL
and SeaweedFS run on the same cores, so the wall-clock ratio of 2 to 1 processes understates
what 2 nodes would do (docs/deploy.md extrapolates).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
from store_ingest import PROJECT, cpu_seconds, start_server, stop_server

from neptune_sync.wire.ops import AssignFile, Entry, FileRef, FloatPoint, LogFloats
from neptune_sync.wire.protocol import BatchRequest, RunInfo, batch_request_encoder, batch_response_decoder
from neptune_sync_store.s3_testing import seaweedfs
from neptune_sync_store.storage import make_storage
from neptune_sync_store.testing import reachable_postgres

SERIES = 4
BLOB_BYTES = 256 << 10  # one checkpoint-sized file per daemon would swamp a 2-core box; a sample


def daemon_batches(run_key: str, batches: int, points: int) -> tuple[bytes, list[bytes]]:
    """A daemon's blob and its encoded batches: an AssignFile of the blob, then float points."""
    blob = random.randbytes(BLOB_BYTES)
    ref = FileRef(hashlib.sha256(blob).hexdigest(), len(blob), "model.pt", "pt")
    run = RunInfo(PROJECT, run_key, run_key)
    out, seq, step = [], 1, 0
    for n in range(batches):
        entries = [Entry(seq, 1.7e9, AssignFile("model/checkpoint", ref))] if n == 0 else []
        seq += len(entries)
        per = points // SERIES
        for k in range(SERIES):
            pts = tuple(
                FloatPoint(float(step + i), (step + i) * 0.01 + k, 1.7e9 + step + i) for i in range(per)
            )
            entries.append(Entry(seq, 1.7e9 + step, LogFloats(f"train/s{k}", pts)))
            seq += per
        step += per
        out.append(batch_request_encoder.encode(BatchRequest(run, "writer-0", entries)))
    return blob, out


async def one_daemon(
    session: aiohttp.ClientSession, urls: list[str], token: str, index: int, work: tuple[bytes, list[bytes]]
) -> list[float]:
    blob, bodies = work
    headers = {"Authorization": f"Bearer {token}"}
    put = {**headers, "X-Blob-Size": str(len(blob))}
    sha = hashlib.sha256(blob).hexdigest()
    url = urls[index % len(urls)]
    await send(lambda: session.put(f"{url}/v1/blobs/{sha}", data=io.BytesIO(blob), headers=put))
    latencies = []
    post = {**headers, "Content-Type": "application/msgpack"}
    retry = random.Random(index).randrange(len(bodies))
    for n, body in enumerate([*bodies, bodies[retry]]):
        url = urls[(index + n) % len(urls)]
        started = time.perf_counter()
        raw = await send(
            lambda url=url, body=body: session.post(f"{url}/v1/batches", data=io.BytesIO(body), headers=post)
        )
        batch_response_decoder.decode(raw)
        latencies.append(time.perf_counter() - started)
    return latencies


async def send(request) -> bytes:
    """A request until it is taken; 429 (store busy) is retried after a short jittered pause, as
    the daemon does."""
    while True:
        async with request() as resp:
            raw = await resp.read()
            if resp.status in (200, 201):
                return raw
            if resp.status != 429:
                raise SystemExit(f"refused: {resp.status} {raw[:300]!r}")
        await asyncio.sleep(random.uniform(0.02, 0.1))


async def drive(
    urls: list[str], token: str, work: list[tuple[bytes, list[bytes]]]
) -> tuple[float, list[float]]:
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        results = await asyncio.gather(*(one_daemon(session, urls, token, i, w) for i, w in enumerate(work)))
        return time.perf_counter() - started, [x for r in results for x in r]


async def check_exact(dsn: str, schema: str, daemons: int, batches: int, points: int) -> tuple[int, int]:
    """(writers not applied to their last seq, stored points minus points sent): both must be 0."""
    storage = make_storage(dsn, Path("."), pg_schema=schema)
    await storage.open()
    try:
        last_seq = 1 + batches * (points // SERIES) * SERIES
        behind = 0
        for i in range(daemons):
            if await storage.acked_seq(PROJECT, f"run-{i}", "writer-0") != last_seq:
                behind += 1
        ((stored,),) = await storage.fetch_named("SELECT count(*) FROM points", {})
        return behind, stored - daemons * batches * (points // SERIES) * SERIES
    finally:
        await storage.drop_schema()
        await storage.close()


def phase(stores: int, args: argparse.Namespace, dsn: str, bucket: str, tmp: Path) -> float:
    schema = f"bench_scale_{uuid.uuid4().hex[:10]}"
    shared = ["--db", dsn, "--pg-schema", schema, "--blobs", f"{bucket}/{schema}"]
    procs = [start_server(fresh(tmp / f"{schema}-{n}"), *shared) for n in range(stores)]
    try:
        work = [daemon_batches(f"run-{i}", args.batches, args.points) for i in range(args.daemons)]
        cpu_before = sum(cpu_seconds(p.pid) for p, _, _ in procs)
        secs, latencies = asyncio.run(drive([url for _, url, _ in procs], procs[0][2], work))
        cpu = sum(cpu_seconds(p.pid) for p, _, _ in procs) - cpu_before
    finally:
        for p, _, _ in procs:
            stop_server(p)
    sent = args.daemons * args.batches * (args.points // SERIES) * SERIES
    behind, extra = asyncio.run(check_exact(dsn, schema, args.daemons, args.batches, args.points))
    p99 = statistics.quantiles(latencies, n=100)[98]
    print(
        f"{stores} store process(es): {args.daemons} daemons, {sent:,} points + {args.daemons} blobs in "
        f"{secs:.1f} s = {sent / secs:,.0f} points/s; batch latency p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms; store CPU {cpu:.1f} s = {sent / cpu:,.0f} points per store CPU-second; "
        f"writers behind: {behind}, points lost (-) or duplicated (+): {extra}"
    )
    if behind or extra:
        raise SystemExit("FAIL: the store does not hold exactly what the daemons sent")
    return sent / secs


async def upload_all(url: str, token: str, blobs: list[bytes], concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as session:

        async def one(blob: bytes) -> None:
            headers = {"Authorization": f"Bearer {token}", "X-Blob-Size": str(len(blob))}
            target = f"{url}/v1/blobs/{hashlib.sha256(blob).hexdigest()}"
            async with gate:
                await send(lambda: session.put(target, data=io.BytesIO(blob), headers=headers))

        started = time.perf_counter()
        await asyncio.gather(*(one(b) for b in blobs))
        return time.perf_counter() - started


def blob_throughput(args: argparse.Namespace, bucket: str, tmp: Path) -> None:
    """The same blobs (small ones and multipart ones) through a store on S3 and one on a local dir."""
    sizes = [4 << 20] * 16 + [24 << 20] * 4
    total = sum(sizes)
    rates = {}
    for name, extra in (("local", []), ("s3", ["--blobs", f"{bucket}/throughput-{uuid.uuid4().hex}"])):
        blobs = [random.randbytes(s) for s in sizes]
        proc, url, token = start_server(fresh(tmp / f"blobs-{name}"), *extra)
        try:
            cpu_before = cpu_seconds(proc.pid)
            secs = asyncio.run(upload_all(url, token, blobs, 4))
            cpu = cpu_seconds(proc.pid) - cpu_before
        finally:
            stop_server(proc)
        rates[name] = total / secs / 1e6
        print(
            f"blob upload, {name:5s} backend: {total / 1e6:.0f} MB in {len(sizes)} blobs in {secs:.2f} s = "
            f"{rates[name]:.0f} MB/s; {total / 1e6 / cpu:.0f} MB per store CPU-second"
        )
    print(f"blob upload S3 / local: {rates['s3'] / rates['local']:.2f}x")


def fresh(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--daemons", type=int, default=200)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--points", type=int, default=500, help="float points per batch")
    parser.add_argument("--pg", help="PostgreSQL DSN (default: the test DSNs)")
    args = parser.parse_args()
    dsn = args.pg or asyncio.run(reachable_postgres())[0]
    if dsn is None:
        raise SystemExit("no PostgreSQL reachable; pass --pg")
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        with seaweedfs(tmp / "seaweedfs") as s3:
            os.environ.update(s3.env)
            bucket = s3.location()
            one = phase(1, args, dsn, bucket, tmp)
            two = phase(2, args, dsn, bucket, tmp)
            print(
                f"2 store processes / 1: {two / one:.2f}x points/s (same box: PostgreSQL and S3 share its cores)"
            )
            blob_throughput(args, bucket, tmp)


if __name__ == "__main__":
    sys.exit(main())
