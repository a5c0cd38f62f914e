#!/usr/bin/env python3
"""Where the time of one logging call goes: the pieces of the S1 and S3 paths of
bench/client_throughput.py, each as a share of the raw-msgspec baseline's whole call, measured in
the same run (CPU time of this process, the best of ``--reps`` loops of ``--n`` calls).

S1 (``run["train/loss"].append(v, step=i)``):
  raw call             the baseline's loop body: one msgpack frame (path, step, value, time) per call
  chain                the whole call, handler and writer
  handler              Handler.append's fast path with the writer's call replaced by a no-op
  writer               OpLogWriter.append_float(path, step, value, time.time()) alone, in the
                       build in use (the C one unless NEPTUNE_SYNC_PURE_PYTHON=1; the line says)
  and the calls the Python build of the writer (oplog/hotframe.py) makes per point, one by one
  (each with its loop and call overhead taken out: the "empty loop" line); the C build does the
  same steps inside one call
S3 (``run[f"params/p{i}"] = i``, each path new):
  raw call, chain, and the pieces of the chain: the path check, a new handler, the assign
  operation, the field tree's type rules for a new field, the writer's append of the operation

Run:  .venv/bin/python bench/hotpath_breakdown.py [--n 200000] [--reps 5]
"""

from __future__ import annotations

import argparse
import math
import mmap
import os
import struct
import tempfile
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from client_throughput import CAPTURE_OFF  # the same run options as the throughput bench


def best_ns(loop: Callable[[int], None], n: int, reps: int) -> float:
    """CPU nanoseconds per call of ``loop(n)``, the best of ``reps`` runs."""
    best = math.inf
    for _ in range(reps):
        start = time.process_time()
        loop(n)
        best = min(best, time.process_time() - start)
    return best / n * 1e9


def raw_s1(n: int) -> None:
    import msgspec

    enc, pack_into, now, buf = msgspec.msgpack.Encoder(), struct.pack_into, time.time, bytearray()
    for i in range(n):
        off = len(buf)
        buf.extend(b"\0\0\0\0")
        enc.encode_into(("train/loss", i, i * 1e-3, now()), buf, off + 4)
        pack_into("<I", buf, off, len(buf) - off - 4)
        if len(buf) >= 1 << 16:
            buf.clear()


def s1_pieces(neptune, n: int, reps: int) -> list[tuple[str, float]]:
    from neptune_sync.oplog import hotframe
    from neptune_sync.oplog.writer import OpLogWriter

    run = neptune.init_run(project="bench/breakdown", mode="offline", **CAPTURE_OFF)
    handler = run["train/loss"]
    handler.append(0.0, step=0)
    base = [1]

    def chain(k: int) -> None:
        append, start = handler.append, base[0]
        for i in range(start, start + k):
            append(0.25, step=i)
        base[0] = start + k

    rows = [("raw call", best_ns(raw_s1, n, reps)), ("chain", best_ns(chain, n, reps))]
    runlog = run._runlog
    runlog.append_float = lambda path, step, value, ts: 0  # the handler alone
    rows.append(("handler (writer call a no-op)", best_ns(chain, n, reps)))
    run.stop()

    writer = OpLogWriter(Path(tempfile.mkdtemp()) / "segments", project="bench/breakdown", run_key="k")
    steps = [0]

    def direct(k: int) -> None:
        append_float, now, start = writer.append_float, time.time, steps[0]
        for i in range(start, start + k):
            append_float("train/loss", i, 0.25, now())
        steps[0] = start + k

    rows.append((f"writer, {hotframe.BUILD} build (with time.time())", best_ns(direct, n, reps)))
    writer.close()
    return rows + c_calls(n, reps)


def c_calls(n: int, reps: int) -> list[tuple[str, float]]:
    """The Python build's per-point calls, each in a loop of its own, less the empty loop."""
    buf = mmap.mmap(-1, 1 << 16)
    pack, commit, crc32, floor, now = (
        struct.Struct("<IId").pack,
        struct.Struct("<II").pack,
        zlib.crc32,
        math.floor,
        time.time,
    )
    point, lock, turn, word = pack(1, 2, 3.0), threading.Lock(), [True], slice(0, 8)
    base_ts = time.time()

    def loop(body: Callable[[int], None]) -> Callable[[int], None]:
        def run(k: int) -> None:
            for i in range(k):
                body(i)

        return run

    def store_point(i: int) -> None:
        buf[16:32] = point

    def store_commit(i: int) -> None:
        buf[word] = commit(i, 12345)

    def take_and_give_back(i: int) -> None:
        del turn[-1]
        turn.append(True)

    empty = best_ns(loop(lambda i: None), n, reps)
    calls = {
        "empty loop (subtracted below)": lambda i: None,
        "threading.Lock acquire + release": lambda i: (lock.acquire(), lock.release()),
        "turn del [-1] + append (the writer's mutex)": take_and_give_back,
        "time.time()": lambda i: now(),
        "floor((ts - base) * 1e6)": lambda i: floor((base_ts - base_ts) * 1e6),
        "pack the point": lambda i: pack(i, 7, 0.25),
        "store the point (slice)": store_point,
        "crc32 of the point": lambda i: crc32(point, i),
        "pack + store the commit word": store_commit,
    }
    rows = []
    for name, body in calls.items():
        cost = best_ns(loop(body), n, reps)
        rows.append((f"  {name}", cost if name.startswith("empty") else cost - empty))
    return rows


def s3_pieces(neptune, reps: int) -> list[tuple[str, float]]:
    import msgspec

    from neptune_sync.handler import Handler
    from neptune_sync.state import FieldTree
    from neptune_sync.validation import check_path
    from neptune_sync.values import atom_op
    from neptune_sync.wire.ops import AssignInt

    paths = [f"params/p{i}" for i in range(1000)]
    ops = [AssignInt(p, i) for i, p in enumerate(paths)]

    def per_assign(make: Callable[[], Callable[[], None]]) -> float:
        best = math.inf
        for _ in range(reps):
            body = make()
            start = time.process_time()
            body()
            best = min(best, time.process_time() - start)
        return best / len(paths) * 1e9

    def raw() -> Callable[[], None]:
        enc, pack_into, now, buf = msgspec.msgpack.Encoder(), struct.pack_into, time.time, bytearray()

        def body() -> None:
            for i, path in enumerate(paths):
                off = len(buf)
                buf.extend(b"\0\0\0\0")
                enc.encode_into((path, 0, i, now()), buf, off + 4)
                pack_into("<I", buf, off, len(buf) - off - 4)

        return body

    runs = []

    def chain() -> Callable[[], None]:
        run = neptune.init_run(project="bench/breakdown", mode="offline", **CAPTURE_OFF)
        runs.append(run)

        def body() -> None:
            for i, path in enumerate(paths):
                run[path] = i

        return body

    rows = [("raw call", per_assign(raw)), ("chain (the loop; stop() not counted)", per_assign(chain))]
    run = runs[0]
    tree = [FieldTree(keep_values=False)]

    def fresh_tree() -> Callable[[], None]:
        tree[0] = FieldTree(keep_values=False)
        return lambda: [tree[0].apply(op) for op in ops]

    writer = run._runlog.writer
    rows += [
        ("  check_path", per_assign(lambda: lambda: [check_path(p) for p in paths])),
        ("  Handler(run, path)", per_assign(lambda: lambda: [Handler(run, p) for p in paths])),
        ("  atom_op (the AssignInt)", per_assign(lambda: lambda: [atom_op(p, 1, None) for p in paths])),
        ("  FieldTree.apply (type rules, new field)", per_assign(fresh_tree)),
        ("  OpLogWriter.append(op)", per_assign(lambda: lambda: [writer.append(op) for op in ops])),
    ]
    for r in runs:
        r.stop()
    return rows


def report(title: str, rows: list[tuple[str, float]]) -> None:
    raw = rows[0][1]
    print(f"{title}: per call, CPU ns and share of the raw baseline's whole call")
    for name, ns in rows:
        print(f"  {name:48} {ns:8.0f} ns  {ns / raw:6.2f}x raw")
    print(f"  {'raw / chain (the throughput ratio)':48} {raw / rows[1][1]:8.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200_000, help="calls per S1 loop")
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    os.environ["NEPTUNE_SYNC_DIR"] = tempfile.mkdtemp(prefix="nsbench-breakdown-")
    os.environ.setdefault("NEPTUNE_SYNC_NO_DAEMON", "1")
    import neptune_sync as neptune

    print(f"load {os.getloadavg()[0]:.2f}, n={args.n:,}, reps={args.reps} (best)")
    report("S1", s1_pieces(neptune, args.n, args.reps))
    report("S3", s3_pieces(neptune, max(args.reps, 7)))


if __name__ == "__main__":
    main()
