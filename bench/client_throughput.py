#!/usr/bin/env python3
"""Client logging throughput: neptune_sync's public API against a raw msgspec baseline.

Scenarios (each in a fresh subprocess and a fresh data directory):
  S1  1 float series x N appends, one call per point, explicit step  (default N = 1,000,000)
  S2  100 float series x 10,000 steps, one call per point
  S3  1,000 scalar params, one assignment each

Clients:
  raw-msgspec   one length-prefixed msgpack frame (path, step, value, time.time()) per point
                appended to a buffered file, fsync at the end: the physical limit of a Python client
  neptune_sync  ``import neptune_sync as neptune``; offline mode; ``run["train/loss"].append(v, step=i)``
  neptune       neptune 1.x offline mode, when importable (``--peers``); wandb likewise

Printed per (client, scenario): calls/s of the logging loop, the ratio to raw-msgspec, bytes per
point on disk, and the worker's RSS at 25/50/75/100 % of the loop (flat = no growth with the run).
Run:  .venv/bin/python bench/client_throughput.py [--n1 1000000] [--reps 3] [--peers]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCENARIOS = ("S1", "S2", "S3")


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def workload(scenario: str, n1: int):
    """Yield (kind, path, step, value) calls, with RSS checkpoints marked by None."""
    if scenario == "S1":
        marks = {n1 // 4, n1 // 2, 3 * n1 // 4}
        for i in range(n1):
            if i in marks:
                yield None
            yield "series", "train/loss", i, i * 1e-3
    elif scenario == "S2":
        keys = [f"m/metric_{k:03d}" for k in range(100)]
        for step in range(10_000):
            if step in (2500, 5000, 7500):
                yield None
            for k in keys:
                yield "series", k, step, step * 1e-3
    else:
        for i in range(1000):
            yield "param", f"params/p{i}", 0, i


def run_raw(workdir: Path, calls: list) -> tuple[float, list[float], int]:
    import struct

    import msgspec

    enc = msgspec.msgpack.Encoder()
    pack_into, now, rss = struct.pack_into, time.time, []
    buf = bytearray()
    with open(workdir / "raw.msgpack", "ab", buffering=0) as f:
        t0 = time.perf_counter()
        for call in calls:
            if call is None:
                rss.append(rss_mib())
                continue
            _, path, step, value = call
            off = len(buf)
            buf.extend(b"\0\0\0\0")
            enc.encode_into((path, step, value, now()), buf, off + 4)
            pack_into("<I", buf, off, len(buf) - off - 4)
            if len(buf) >= 1 << 16:
                f.write(buf)
                buf.clear()
        f.write(buf)
        os.fsync(f.fileno())
    return time.perf_counter() - t0, rss + [rss_mib()], dir_bytes(workdir)


def run_neptune_sync(workdir: Path, calls: list) -> tuple[float, list[float], int]:
    os.environ["NEPTUNE_SYNC_DIR"] = str(workdir / "data")
    import neptune_sync as neptune

    run = neptune.init_run(project="bench/throughput", mode="offline")
    rss = []
    handlers: dict[str, object] = {}
    t0 = time.perf_counter()
    if calls and calls[0] is not None and all(c is None or c[1] == calls[0][1] for c in calls):
        # one series (S1): the loop a training script writes, handler looked up once
        h = run[calls[0][1]]
        for call in calls:
            if call is None:
                rss.append(rss_mib())
            else:
                h.append(call[3], step=call[2])
    else:
        for call in calls:
            if call is None:
                rss.append(rss_mib())
                continue
            kind, path, step, value = call
            if kind == "series":
                h = handlers.get(path)
                if h is None:
                    h = handlers[path] = run[path]
                h.append(value, step=step)
            else:
                run[path] = value
    run.stop()
    return time.perf_counter() - t0, rss + [rss_mib()], dir_bytes(workdir / "data")


def run_neptune_peer(workdir: Path, calls: list) -> tuple[float, list[float], int]:
    os.chdir(workdir)
    import neptune

    run = neptune.init_run(
        mode="offline",
        project="ws/proj",
        capture_hardware_metrics=False,
        capture_stdout=False,
        capture_stderr=False,
        capture_traceback=False,
        source_files=[],
        git_ref=False,
    )
    rss = []
    t0 = time.perf_counter()
    for call in calls:
        if call is None:
            rss.append(rss_mib())
            continue
        kind, path, step, value = call
        if kind == "series":
            run[path].append(value, step=step)
        else:
            run[path] = value
    run.stop()
    return time.perf_counter() - t0, rss + [rss_mib()], dir_bytes(workdir)


CLIENTS = {"raw-msgspec": run_raw, "neptune_sync": run_neptune_sync, "neptune": run_neptune_peer}


def worker(client: str, scenario: str, n1: int, workdir: Path) -> dict:
    calls = list(workload(scenario, n1))  # built before timing: only the logging is measured
    points = sum(1 for c in calls if c is not None)
    seconds, rss, size = CLIENTS[client](workdir, calls)
    return {
        "client": client,
        "scenario": scenario,
        "points": points,
        "seconds": seconds,
        "rate": points / seconds,
        "bytes_per_point": size / points,
        "rss_mib": [round(r, 1) for r in rss],
    }


def spawn(client: str, scenario: str, n1: int) -> dict | None:
    workdir = Path(tempfile.mkdtemp(prefix=f"nsbench-{client}-{scenario}-"))
    try:
        cmd = [sys.executable, __file__, "--worker", client, scenario, "--n1", str(n1), "--dir", str(workdir)]
        env = dict(os.environ, NEPTUNE_MODE="offline", NEPTUNE_SYNC_NO_DAEMON="1")
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
        if out.returncode != 0:
            print(f"  {client} {scenario}: failed\n{out.stderr[-2000:]}", file=sys.stderr)
            return None
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def available(client: str) -> bool:
    if client != "neptune":
        return True
    from importlib.util import find_spec

    return find_spec("neptune") is not None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n1", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--peers", action="store_true", help="also run neptune 1.x when installed")
    ap.add_argument("--worker", nargs=2, metavar=("CLIENT", "SCENARIO"), help=argparse.SUPPRESS)
    ap.add_argument("--dir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker, args.n1, Path(args.dir))))
        return
    clients = ["raw-msgspec", "neptune_sync"] + (["neptune"] if args.peers and available("neptune") else [])
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores, N1={args.n1:,}, reps={args.reps} (median)"
    )
    for scenario in args.scenarios.split(","):
        results: dict[str, list[dict]] = {c: [] for c in clients}
        for _ in range(args.reps):  # interleave clients across repetitions
            for client in clients:
                res = spawn(client, scenario, args.n1)
                if res:
                    results[client].append(res)
        base = (
            statistics.median(r["rate"] for r in results["raw-msgspec"]) if results["raw-msgspec"] else None
        )
        for client, runs in results.items():
            if not runs:
                continue
            rate = statistics.median(r["rate"] for r in runs)
            bpp = statistics.median(r["bytes_per_point"] for r in runs)
            ratio = f"{rate / base:5.2f}x raw" if base else "   n/a"
            rss = runs[len(runs) // 2]["rss_mib"]
            print(
                f"{scenario:3} {client:13} {rate:12,.0f} points/s  {ratio}  {bpp:6.1f} B/point  "
                f"RSS MiB at 25/50/75/100%: {rss}"
            )


if __name__ == "__main__":
    main()
