"""Sync throughput and latency: offline run → neptune-sync sync → SQLite store; and async-mode lag.

    .venv/bin/python bench/sync_throughput.py [--points 1000000] [--latency-points 500]

1. End-to-end points/s: a run of ``--points`` float points is written offline, then synced once
   (the same code as ``neptune-sync sync``) into a store server running as its own process on
   127.0.0.1 with the default SQLite backend. Timed from the start of the sync until the store
   acknowledged the last point.
2. Latency: a daemon process (default settings) runs while a live writer appends a point every
   ``--interval`` seconds; the store's acknowledged seq is polled every 5 ms, and each point's
   latency is from its append() to the first poll that shows it applied.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import anyio
import msgspec

from neptune_sync.oplog.layout import RunIdentity, claim_identity, run_dir, run_key_for, segments_dir
from neptune_sync.oplog.writer import OpLogWriter
from neptune_sync.wire.protocol import AckResponse
from neptune_syncd.config import load_config
from neptune_syncd.oneshot import sync_once
from neptune_syncd.sinks.http import HttpSink

PROJECT = "bench/sync"


def start_store(data: Path) -> tuple[subprocess.Popen[str], str, str]:
    token_file = data / "token"
    cmd = [sys.executable, "-m", "neptune_sync.cli", "server", "--port", "0", "--data", str(data / "store")]
    cmd += ["--token-project", PROJECT, "--token-file", str(token_file)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        proc.kill()
        raise SystemExit(f"store did not start (said {url!r})")
    return proc, url, token_file.read_text().strip()


def new_writer(root: Path, name: str) -> OpLogWriter:
    key = run_key_for(PROJECT, custom_run_id=name)
    path = run_dir(key, root)
    claim_identity(path, RunIdentity(PROJECT, key, name, name))
    return OpLogWriter(segments_dir(path), project=PROJECT, run_key=key, run_id=name, custom_run_id=name)


def throughput(root: Path, url: str, token: str, points: int, batch: dict[str, int]) -> None:
    w = new_writer(root, "offline")
    t0 = time.perf_counter()
    ts = time.time()
    for i in range(points):
        w.append_float("train/loss", i, 1.0 / (i + 1), ts)
    w.close()
    print(f"wrote {points:,} points offline in {time.perf_counter() - t0:.2f} s")
    config = load_config(data_dir=str(root), store_url=url, api_token=token, batch=batch)
    run_path = run_dir(w.segments_dir.parent.name, root)
    t0 = time.perf_counter()
    results = anyio.run(sync_once, config, HttpSink(url, token), [run_path], None)
    elapsed = time.perf_counter() - t0
    ((result, replicator),) = results.values()
    acked = replicator.state.writers[w.writer_id].acked_seq
    assert acked == points and result.pending == 0, (acked, result)
    print(f"end-to-end sync: {points:,} points in {elapsed:.2f} s = {points / elapsed:,.0f} points/s")


class AckPoller(threading.Thread):
    """Polls the store's acknowledged seq for one writer; records (time, seq) on each change."""

    def __init__(self, url: str, token: str, run_key: str, writer_id: str) -> None:
        super().__init__(daemon=True)
        query = urllib.parse.urlencode({"project": PROJECT, "run_key": run_key, "writer_id": writer_id})
        self.request = urllib.request.Request(
            f"{url}/v1/acked?{query}", headers={"Authorization": f"Bearer {token}"}
        )
        self.seen: list[tuple[float, int]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        last = -1
        while not self.stop.is_set():
            with urllib.request.urlopen(self.request, timeout=5) as resp:
                seq = msgspec.msgpack.decode(resp.read(), type=AckResponse).applied_seq
            if seq != last:
                self.seen.append((time.time(), seq))
                last = seq
            time.sleep(0.005)


def latency(root: Path, url: str, token: str, n: int, interval: float) -> None:
    env = {
        **os.environ,
        "NEPTUNE_API_TOKEN": token,
        "NEPTUNE_SYNC_DIR": str(root),
        "NEPTUNE_SYNC_STORE_URL": url,
    }
    daemon = subprocess.Popen([sys.executable, "-m", "neptune_syncd"], env=env, stderr=subprocess.DEVNULL)
    try:
        w = new_writer(root, "live")
        poller = AckPoller(url, token, w.segments_dir.parent.name, w.writer_id)
        poller.start()
        appended: list[float] = []
        for i in range(n):
            appended.append(time.time())
            w.append_float("train/loss", i, float(i), appended[-1])
            time.sleep(interval)
        deadline = time.time() + 30
        while (not poller.seen or poller.seen[-1][1] < n) and time.time() < deadline:
            time.sleep(0.01)
        poller.stop.set()
        poller.join()
        w.close()
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(30)
    lat = []
    for seq, t in enumerate(appended, start=1):
        visible = next((when for when, acked in poller.seen if acked >= seq), None)
        if visible is None:
            raise SystemExit(f"point {seq} never became visible")
        lat.append(max(0.0, visible - t))
    q = statistics.quantiles(lat, n=100)
    print(f"async latency append() -> visible in store, {n} points every {interval * 1000:.0f} ms:")
    print(f"  p50 {q[49] * 1000:.0f} ms, p99 {q[98] * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--latency-points", type=int, default=500)
    parser.add_argument("--interval", type=float, default=0.01)
    parser.add_argument("--batch-ops", type=int, help="max ops per batch (default: the daemon's)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        store, url, token = start_store(data)
        try:
            batch = {"max_ops": args.batch_ops} if args.batch_ops else {}
            throughput(data / "client", url, token, args.points, batch)
            latency(data / "client-async", url, token, args.latency_points, args.interval)
        finally:
            store.send_signal(signal.SIGTERM)
            store.wait(30)


if __name__ == "__main__":
    main()
