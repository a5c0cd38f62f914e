"""Ingestion and read-back throughput of the store, over HTTP, on SQLite and PostgreSQL.

    .venv/bin/python bench/store_ingest.py [--points 1000000] [--series 100] [--pg DSN] [--rising-timestamps]

Starts ``neptune-sync server`` as a child process (its own core), posts pre-encoded batches of float
points the way the daemon does (one writer, batches in seq order, one at a time), and prints
points/s. Then it ingests one 1M-point series and times reading it back through
``neptune_sync.store_client`` (pages of 100k). With mlflow installed (here, or in the interpreter
``--mlflow-python`` names), it also times ``MlflowClient.log_batch`` into a SQLite store on a sample
of the same points (bench/mlflow_logging.py; MLflow is ~1000x slower) and prints the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

from neptune_sync.store_client import StoreClient
from neptune_sync.wire.ops import Entry, FloatPoint, LogFloats
from neptune_sync.wire.protocol import BatchRequest, RunInfo, batch_request_encoder, batch_response_decoder

PROJECT = "bench/ingest"
BATCH_POINTS = 100_000


def batches(run_key: str, points: int, series: int, rising: bool = False) -> list[bytes]:
    """Encoded batches: each holds BATCH_POINTS points spread over the series, seqs contiguous.

    Timestamps are per series (they step back where the next series starts: every point then has
    an order time of its own in the store), or with ``rising`` rise along the log as the client
    writes them.
    """
    per_series = points // series
    chunk = max(1, BATCH_POINTS // series)
    out, seq = [], 1
    for start in range(0, per_series, chunk):
        entries = []
        for k in range(series):
            pts = tuple(
                FloatPoint(float(s), s * 0.001 + k, 1.7e9 + (seq + i) * 1e-6 if rising else 1.7e9 + s)
                for i, s in enumerate(range(start, min(per_series, start + chunk)))
            )
            entries.append(Entry(seq, 1.7e9, LogFloats(f"metrics/series_{k:03d}", pts)))
            seq += len(pts)
        run = RunInfo(PROJECT, run_key, run_key)
        out.append(batch_request_encoder.encode(BatchRequest(run, "bench-writer", entries)))
    return out


async def post_all(url: str, token: str, bodies: list[bytes]) -> float:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/msgpack"}
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        started = time.perf_counter()
        for body in bodies:
            async with session.post(f"{url}/v1/batches", data=io.BytesIO(body), headers=headers) as resp:
                if resp.status != 200:
                    raise SystemExit(f"batch refused: {resp.status} {await resp.text()}")
                batch_response_decoder.decode(await resp.read())
        return time.perf_counter() - started


def start_server(data: Path, *args: str) -> tuple[subprocess.Popen, str, str]:
    token_file = data / "token"
    cmd = [sys.executable, "-m", "neptune_sync.cli", "server", "--port", "0", "--data", str(data)]
    cmd += ["--token-project", PROJECT, "--token-file", str(token_file), *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    if not select.select([proc.stdout], [], [], 30)[0]:
        proc.kill()
        raise SystemExit("server did not start within 30 s")
    url = proc.stdout.readline().strip()
    return proc, url, token_file.read_text().strip()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop_server(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
    proc.stdout.close()


def bench_backend(name: str, data: Path, points: int, series: int, *args: str, rising: bool = False) -> float:
    data.mkdir(parents=True, exist_ok=True)
    proc, url, token = start_server(data, *args)
    try:
        bodies = batches("run-ingest", points, series, rising)
        cpu_before = cpu_seconds(proc.pid)
        secs = asyncio.run(post_all(url, token, bodies))
        cpu = cpu_seconds(proc.pid) - cpu_before
        rate = points / secs
        print(
            f"{name:10s} ingest: {points:,} float points in {series} series via HTTP: {secs:.2f} s = {rate:,.0f} points/s"
        )
        if (
            cpu > 0 and not args
        ):  # SQLite: all the work is in the server process, so this is what one free core does
            print(
                f"{name:10s} server CPU: {cpu:.2f} s = {points / cpu:,.0f} points per CPU-second of the server process"
            )
        bodies = batches("run-long", points, 1)
        asyncio.run(post_all(url, token, bodies))
        client = StoreClient.from_token(token, timeout=120)
        started = time.perf_counter()
        count = sum(1 for _ in client.series(PROJECT, "run-long", "metrics/series_000"))
        secs = time.perf_counter() - started
        print(f"{name:10s} read-back: {count:,}-point series in {secs:.2f} s ({count / secs:,.0f} points/s)")
        started = time.perf_counter()
        middle = list(client.series(PROJECT, "run-long", "metrics/series_000", start=500_000, stop=500_999))
        ms = (time.perf_counter() - started) * 1000
        print(f"{name:10s} range read: {len(middle):,} points from the middle of that series in {ms:.1f} ms")
        return rate
    finally:
        stop_server(proc)


def bench_mlflow(python: str | None, points: int, series: int, tmp: Path) -> float | None:
    """points/s of MLflow's client into SQLite (bench/mlflow_logging.py), or None without mlflow."""
    python = python or sys.executable
    probe = subprocess.run([python, "-c", "import mlflow"], capture_output=True, timeout=120)
    if probe.returncode != 0:
        return None
    script = Path(__file__).with_name("mlflow_logging.py")
    out = subprocess.run(
        [python, str(script), str(points), str(series), str(tmp)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=True,
    )
    rate = float(out.stdout.strip().splitlines()[-1])
    print(
        f"mlflow     ingest: {points:,} points ({series} series) via MlflowClient.log_batch into SQLite: {rate:,.0f} points/s"
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--series", type=int, default=100)
    parser.add_argument(
        "--pg", default="postgresql://postgres@127.0.0.1:5432/test", help="'' skips PostgreSQL"
    )
    parser.add_argument(
        "--mlflow-points", type=int, default=20_000, help="sample size for the slow MLflow run"
    )
    parser.add_argument("--mlflow-python", help="interpreter that has mlflow (default: this one)")
    parser.add_argument(
        "--rising-timestamps",
        action="store_true",
        help="timestamps rising along the log, as the client writes",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="store-bench-") as tmp:
        root = Path(tmp)
        rising = args.rising_timestamps
        sqlite_rate = bench_backend("sqlite", root / "sqlite", args.points, args.series, rising=rising)
        if args.pg:
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            try:
                bench_backend(
                    "postgres",
                    root / "pg",
                    args.points,
                    args.series,
                    "--db",
                    args.pg,
                    "--pg-schema",
                    schema,
                    rising=rising,
                )
            finally:
                asyncio.run(drop_schema(args.pg, schema))
        mlflow_rate = bench_mlflow(args.mlflow_python, args.mlflow_points, args.series, root)
        if mlflow_rate:
            print(
                f"ratio      neptune-sync store (SQLite) / MLflow (SQLite): {sqlite_rate / mlflow_rate:,.0f}x"
            )


async def drop_schema(dsn: str, schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await conn.close()


if __name__ == "__main__":
    main()
