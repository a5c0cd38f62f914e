#!/usr/bin/env python3
"""Client logging throughput: neptune_sync's public API against a raw msgspec baseline.

Scenarios (each in a fresh subprocess and a fresh data directory):
  S1   1 float series x N appends, one call per point, explicit step  (default N = 1,000,000)
  S2   100 float series x 10,000 steps, one call per point
  S2d  the same points as S2, one call per step with a dict of the 100 values
       (``run["m"].append(dict, step=i)``; ``wandb.log(dict, step=i)`` is how W&B users log)
  S3   1,000 scalar params, one assignment each

Clients:
  raw-msgspec   one length-prefixed msgpack frame (path, step, value, time.time()) per call
                appended to a buffered file, fsync at the end: the physical limit of a Python client
  neptune_sync  ``import neptune_sync as neptune``; offline mode; ``run["train/loss"].append(v, step=i)``;
                automatic capture off (no console copy, hardware thread, git, source files)
  neptune_sync+capture   the same with every capture on (defaults + ``dependencies="infer"``), S1 only:
                the cost of capture on a training loop (``--capture-pairs``, default 10): S1 off and on
                in adjacent pairs, alternating which goes first; prints the median and the spread of
                the per-pair ratios of points per CPU second of the process (every thread's CPU,
                the capture thread's included: the headline, since load from other processes moves
                it far less than wall time) and of points/s, bytes per point on and off, and the
                capture thread's CPU during the loop
  neptune       neptune 1.x offline mode, the same calls as neptune_sync     (``--peers``)
  wandb         wandb offline mode: ``run.log({"train/loss": v}, step=i)`` (``--peers``); S2 logs a
                one-key dict per point (like for like with S2), S2d one dict of 100 per step,
                S3 ``run.config[f"p{i}"] = i``

Peers run in another interpreter (``--peer-python``, default /tmp/peerbench/venv/bin/python when it
exists; see /work/shared/peer-bench/README.md), never in our venv: the worker code path needs only
the stdlib and the client it measures. Peers use smaller sizes (``--peer-n1``, ``--peer-steps2``;
rates are per second); each row prints the number of points it logged.

Printed per (client, scenario): points/s of the logging loop including the closing stop()/finish()
(the raw baseline's fsync), the ratio to raw-msgspec (and, for neptune_sync, the median and spread
of the per-repetition ratios of points per CPU second of the process, which load from other
processes distorts far less than wall time), for peers neptune_sync's rate divided by the
peer's, bytes per point of the client's data files, the stop()/finish() seconds, and the worker's
RSS at 25/50/75/100 % of the loop (flat = no growth with the run; wandb adds its wandb-core
process, sampled with psutil).
Idle log growth (``--idle-seconds``, default 60; 0 skips): a run with every capture on that logs
nothing, for that long, once with the capture periods shortened 100x (hardware 0.1 s, heartbeat
0.6 s: the same ops as 100x as long at the defaults) and once with the defaults; each prints the
segment bytes it added per hour (bytes of the stopped run minus those of a run stopped at once).
The closing line prints both costs of capture: the S1 ratio and the idle growth at the defaults.
Run:  .venv/bin/python bench/client_throughput.py [--n1 1000000] [--reps 3] [--peers]
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCENARIOS = ("S1", "S2", "S2d", "S3")
PEERS = ("neptune", "wandb")
DEFAULT_PEER_PYTHON = "/tmp/peerbench/venv/bin/python"


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def children_rss_mib() -> float | None:
    """RSS of this process's helper processes (wandb-core), None without psutil."""
    try:
        import psutil
    except ImportError:
        return None
    total = 0
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += child.memory_info().rss
    return total / 2**20


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def glob_bytes(root: Path, pattern: str) -> int:
    return sum(
        os.path.getsize(p) for p in glob.glob(str(root / pattern), recursive=True) if os.path.isfile(p)
    )


def workload(scenario: str, n1: int, steps2: int):
    """Yield (kind, path, step, value) calls, with RSS checkpoints marked by None.

    kind "dict" (S2d) carries {name: value} for the series under ``path``.
    """
    if scenario == "S1":
        marks = {n1 // 4, n1 // 2, 3 * n1 // 4}
        for i in range(n1):
            if i in marks:
                yield None
            yield "series", "train/loss", i, i * 1e-3
    elif scenario in ("S2", "S2d"):
        names = [f"metric_{k:03d}" for k in range(100)]
        keys = [f"m/{n}" for n in names]
        marks = {steps2 // 4, steps2 // 2, 3 * steps2 // 4}
        for step in range(steps2):
            if step in marks:
                yield None
            if scenario == "S2d":
                yield "dict", "m", step, {n: step * 1e-3 for n in names}
            else:
                for k in keys:
                    yield "series", k, step, step * 1e-3
    else:
        for i in range(1000):
            yield "param", f"params/p{i}", 0, i


def run_raw(workdir: Path, calls: list) -> dict:
    import struct

    import msgspec

    enc = msgspec.msgpack.Encoder()
    pack_into, now, rss = struct.pack_into, time.time, []
    buf = bytearray()
    with open(workdir / "raw.msgpack", "ab", buffering=0) as f:
        c0, t0 = time.process_time(), time.perf_counter()
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
        t1 = time.perf_counter()
        f.write(buf)
        os.fsync(f.fileno())
    t2, c2 = time.perf_counter(), time.process_time()
    return {
        "seconds": t2 - t0,
        "stop_s": t2 - t1,
        "rss": rss + [rss_mib()],
        "bytes": dir_bytes(workdir),
        "cpu_s": c2 - c0,
    }


def neptune_api_loop(run, calls: list, rss: list) -> None:
    """The calls a training script makes with the Neptune 1.x API (neptune_sync and neptune alike)."""
    if calls and calls[0] is not None and all(c is None or c[1] == calls[0][1] for c in calls):
        # one series (S1): the loop a training script writes, handler looked up once
        h = run[calls[0][1]]
        for call in calls:
            if call is None:
                rss.append(rss_mib())
            else:
                h.append(call[3], step=call[2])
        return
    handlers: dict[str, object] = {}
    for call in calls:
        if call is None:
            rss.append(rss_mib())
            continue
        kind, path, step, value = call
        if kind == "param":
            run[path] = value
            continue
        h = handlers.get(path)
        if h is None:
            h = handlers[path] = run[path]
        h.append(value, step=step)  # a dict appends to one series per key


def timed_api_run(run, calls: list) -> dict:
    """Drive a neptune-style run through the calls, then stop it: loop + stop time, RSS."""
    rss: list[float] = []
    ticker = capture_thread_id(run)
    c0, t0, k0 = time.process_time(), time.perf_counter(), thread_cpu_s(ticker)
    neptune_api_loop(run, calls, rss)
    t1, k1 = time.perf_counter(), thread_cpu_s(ticker)  # before stop() ends the thread
    run.stop()
    t2, c2 = time.perf_counter(), time.process_time()
    return {
        "seconds": t2 - t0,
        "stop_s": t2 - t1,
        "rss": rss + [rss_mib()],
        "cpu_s": c2 - c0,
        # the capture thread's CPU during the loop: while it runs Python it holds the GIL
        "capture_cpu_s": None if k0 is None or k1 is None else k1 - k0,
    }


CAPTURE_OFF = dict(
    capture_stdout=False,
    capture_stderr=False,
    capture_hardware_metrics=False,
    capture_traceback=False,
    git_ref=False,
    source_files=[],
)
CAPTURE_ON = dict(
    capture_stdout=True,
    capture_stderr=True,
    capture_hardware_metrics=True,
    capture_traceback=True,
    dependencies="infer",
)


def thread_cpu_s(native_id: int | None) -> float | None:
    """CPU seconds (user + system) a thread of this process has used so far (Linux /proc)."""
    if native_id is None:
        return None
    try:
        with open(f"/proc/self/task/{native_id}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def capture_thread_id(run) -> int | None:
    """The native id of the run's capture thread (hardware samples, heartbeat), None without one."""
    capture = getattr(run, "_capture", None)
    thread = getattr(getattr(capture, "_ticker", None), "_thread", None)
    return getattr(thread, "native_id", None)


def run_neptune_sync(workdir: Path, calls: list, capture: dict = CAPTURE_OFF) -> dict:
    os.environ["NEPTUNE_SYNC_DIR"] = str(workdir / "data")
    import neptune_sync as neptune

    run = neptune.init_run(project="bench/throughput", mode="offline", **capture)
    return timed_api_run(run, calls) | {
        "bytes": dir_bytes(workdir / "data" / "runs"),  # segments and blobs (a capture uploads files)
        "version": getattr(neptune, "__version__", "?"),
    }


def run_neptune_sync_capture(workdir: Path, calls: list) -> dict:
    return run_neptune_sync(workdir, calls, CAPTURE_ON)


def idle_worker(seconds: float, workdir: Path) -> dict:
    """Segment bytes a run with every capture on adds while it logs nothing for ``seconds``."""
    os.environ["NEPTUNE_SYNC_DIR"] = str(workdir / "data")
    import neptune_sync as neptune

    def segment_bytes(wait: float) -> int:
        run = neptune.init_run(project="bench/idle", mode="offline", **CAPTURE_ON)
        time.sleep(wait)
        run.stop()
        return dir_bytes(run.run_path / "segments")  # stopped: segments trimmed to their used length

    base = segment_bytes(0.0)
    return {"seconds": seconds, "growth": segment_bytes(seconds) - base}


def run_neptune_peer(workdir: Path, calls: list) -> dict:
    os.chdir(workdir)  # neptune 1.x offline writes ./.neptune
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
    return timed_api_run(run, calls) | {
        # the operation queue files only (not metadata.json / *_version)
        "bytes": glob_bytes(workdir, ".neptune/**/data-*.log"),
        "version": neptune.__version__,
    }


def run_wandb_peer(workdir: Path, calls: list) -> dict:
    os.chdir(workdir)
    import wandb

    run = wandb.init(
        project="throughput",
        dir=str(workdir),
        settings=wandb.Settings(
            mode="offline",
            silent=True,
            console="off",  # no stdout/stderr capture
            x_disable_stats=True,  # no system / hardware metrics
            x_disable_meta=True,
            x_disable_machine_info=True,
            x_save_requirements=False,
            disable_code=True,
            save_code=False,
            disable_git=True,
            disable_job_creation=True,
        ),
    )
    # the dict-per-step calls (S2d) flattened to wandb's "m/metric_000" keys before timing
    calls = [
        ("dict", None, c[2], {f"{c[1]}/{k}": v for k, v in c[3].items()})
        if c is not None and c[0] == "dict"
        else c
        for c in calls
    ]
    log, cfg = run.log, run.config
    rss: list[float] = []
    core: list[float | None] = []
    t0 = time.perf_counter()
    for call in calls:
        if call is None:
            rss.append(rss_mib())
            core.append(children_rss_mib())
            continue
        kind, path, step, value = call
        if kind == "series":
            log({path: value}, step=step)
        elif kind == "dict":
            log(value, step=step)
        else:
            cfg[path.rsplit("/", 1)[-1]] = value
    t1 = time.perf_counter()
    rss.append(rss_mib())
    core.append(children_rss_mib())
    run.finish()
    t2 = time.perf_counter()
    wandb.teardown()  # the service exits: everything it buffered is on disk when we measure
    return {
        "seconds": t2 - t0,
        "stop_s": t2 - t1,
        "rss": rss,
        "child_rss": None if core[-1] is None else core,
        "bytes": glob_bytes(workdir, "wandb/*run-*/run-*.wandb"),
        "version": wandb.__version__,
    }


CLIENTS = {
    "raw-msgspec": run_raw,
    "neptune_sync": run_neptune_sync,
    "neptune_sync+capture": run_neptune_sync_capture,
    "neptune": run_neptune_peer,
    "wandb": run_wandb_peer,
}


def worker(client: str, scenario: str, n1: int, steps2: int, workdir: Path) -> dict:
    if client == "idle":
        return idle_worker(float(scenario), workdir)
    calls = list(workload(scenario, n1, steps2))  # built before timing: only the logging is measured
    points = sum(len(c[3]) if c[0] == "dict" else 1 for c in calls if c is not None)
    res = CLIENTS[client](workdir, calls)
    child = res.get("child_rss")
    return {
        "client": client,
        "scenario": scenario,
        "version": res.get("version", ""),
        "points": points,
        "calls": sum(1 for c in calls if c is not None),
        "seconds": res["seconds"],
        "stop_s": res["stop_s"],
        "rate": points / res["seconds"],
        "cpu_rate": points / res["cpu_s"] if res.get("cpu_s") else None,  # CPU of every thread of ours
        "capture_cpu_s": res.get("capture_cpu_s"),
        "bytes_per_point": res["bytes"] / points,
        "rss_mib": [round(r, 1) for r in res["rss"]],
        "child_rss_mib": None if child is None else [round(r or 0.0, 1) for r in child],
    }


def peer_env(workdir: Path) -> dict:
    """Offline, quiet, nothing captured; a stray request would go to a closed loopback port."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(
        NEPTUNE_MODE="offline",
        WANDB_MODE="offline",
        WANDB_SILENT="true",
        WANDB_CONSOLE="off",
        WANDB_DISABLE_CODE="true",
        WANDB_DISABLE_GIT="true",
        WANDB_BASE_URL="http://127.0.0.1:9",
        WANDB_DIR=str(workdir),
        WANDB_CONFIG_DIR=str(workdir / ".wandb-config"),
        WANDB_CACHE_DIR=str(workdir / ".wandb-cache"),
        WANDB_DATA_DIR=str(workdir / ".wandb-data"),
        GIT_PYTHON_REFRESH="quiet",
    )
    return env


def spawn(
    client: str, scenario: str, n1: int, steps2: int, python: str, extra_env: dict | None = None
) -> dict | None:
    workdir = Path(tempfile.mkdtemp(prefix=f"nsbench-{client}-{scenario}-"))
    try:
        cmd = [python, os.path.abspath(__file__), "--worker", client, scenario]
        cmd += ["--n1", str(n1), "--steps2", str(steps2), "--dir", str(workdir)]
        if client in PEERS:
            env = peer_env(workdir)
        else:
            env = dict(os.environ, NEPTUNE_MODE="offline", NEPTUNE_SYNC_NO_DAEMON="1", **(extra_env or {}))
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
        )
        try:
            out, err = proc.communicate(timeout=1800)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
        # a helper process (wandb-core) that outlived the worker: end the worker's own group
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        if proc.returncode != 0:
            print(f"  {client} {scenario}: failed (rc {proc.returncode})\n{err[-2000:]}", file=sys.stderr)
            return None
        return json.loads(out.strip().splitlines()[-1])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


SHORT_PERIODS = {"NEPTUNE_SYNC_MONITORING_PERIOD": "0.1", "NEPTUNE_SYNC_HEARTBEAT_PERIOD": "0.6"}
SHORTENED = 100  # the defaults are 10 s and 60 s


def idle_growth(seconds: float) -> float | None:
    """Print the segment bytes per hour an idle run with every capture on adds (target < 100 KB);
    returns the KB per hour measured at the default periods."""
    measured = None
    for label, env, scale in (("periods / 100", SHORT_PERIODS, SHORTENED), ("defaults", {}, 1)):
        res = spawn("idle", str(seconds), 0, 0, sys.executable, env)
        if res:
            per_hour = res["growth"] / (res["seconds"] * scale) * 3600 / 1000
            measured = per_hour if scale == 1 else measured
            print(
                f"idle run, every capture on, {label}: {res['growth']:,} B in {res['seconds']:.0f} s "
                f"-> {per_hour:6.1f} KB per hour at the default periods (target < 100)"
            )
    return measured


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):6.3f}x (min {min(values):.3f}, max {max(values):.3f})"


def capture_cost(n1: int, pairs: int) -> float | None:
    """S1 with every capture on against S1 with capture off, in ``pairs`` adjacent pairs whose order
    alternates, so load that drifts while the bench runs weighs on both sides alike. Prints the
    median and spread of the per-pair ratios (CPU and wall), bytes per point on and off, and the
    capture thread's CPU during the loop (it holds the GIL while it runs Python); returns the
    median ratio of points per CPU second of the process (every thread's CPU counts)."""
    wall: list[float] = []
    cpu: list[float] = []
    thread: list[float] = []
    size: dict[str, list[float]] = {"off": [], "on": []}
    clients = ("neptune_sync", "neptune_sync+capture")
    for k in range(pairs):
        order = clients if k % 2 == 0 else clients[::-1]
        res = {client: spawn(client, "S1", n1, 0, sys.executable) for client in order}
        off, on = res["neptune_sync"], res["neptune_sync+capture"]
        if off is None or on is None:
            continue
        wall.append(on["rate"] / off["rate"])
        cpu.append(on["cpu_rate"] / off["cpu_rate"])
        size["off"].append(off["bytes_per_point"])
        size["on"].append(on["bytes_per_point"])
        if on["capture_cpu_s"] is not None:
            thread.append(on["capture_cpu_s"] / (on["seconds"] - on["stop_s"]))
    if not wall:
        return None
    print(
        f"S1   capture on / off, {len(wall)} interleaved pairs of {n1:,} points: points per CPU second "
        f"of the process {spread(cpu)} (target >= 0.970); points/s {spread(wall)}; bytes per point "
        f"off {statistics.median(size['off']):.2f}, on {statistics.median(size['on']):.2f} "
        "(blobs of the captured files included)"
    )
    if thread:
        print(
            f"S1   capture thread CPU during the loop: median {statistics.median(thread):.2%} of the loop's "
            f"wall time (max {max(thread):.2%}; the thread's clock counts in "
            f"{1000 / os.sysconf('SC_CLK_TCK'):.0f} ms ticks)"
        )
    return statistics.median(cpu)


def importable(python: str, module: str) -> bool:
    code = "import importlib.util, sys; sys.exit(importlib.util.find_spec(sys.argv[1]) is None)"
    return subprocess.run([python, "-c", code, module], capture_output=True).returncode == 0


def paired_ratio(results: dict[str, list[dict]], client: str, key: str) -> str | None:
    """``client``'s ``key`` over raw-msgspec's, per repetition (the two ran next to each other):
    median and spread; None when either lacks it. Per CPU second of the process, load from other
    processes counts far less than in points/s."""
    pairs = [
        (ours[key], raw[key])
        for ours, raw in zip(results.get(client, []), results.get("raw-msgspec", []), strict=False)
        if ours.get(key) and raw.get(key)
    ]
    return spread([a / b for a, b in pairs]) if pairs else None


def median_rate(results: dict[str, list[dict]], client: str) -> float | None:
    runs = results.get(client)
    return statistics.median(r["rate"] for r in runs) if runs else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n1", type=int, default=1_000_000, help="S1 points (ours)")
    ap.add_argument("--steps2", type=int, default=10_000, help="S2/S2d steps of 100 series (ours)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--peers", action="store_true", help="also run neptune 1.x and wandb when installed")
    ap.add_argument(
        "--peer-python",
        default=DEFAULT_PEER_PYTHON if os.path.exists(DEFAULT_PEER_PYTHON) else sys.executable,
        help="interpreter of the venv holding the peer clients (default: %(default)s)",
    )
    ap.add_argument("--peer-clients", default=",".join(PEERS))
    ap.add_argument("--peer-n1", type=int, default=100_000, help="S1 points for peers")
    ap.add_argument("--peer-steps2", type=int, default=1_000, help="S2/S2d steps of 100 series for peers")
    ap.add_argument("--idle-seconds", type=float, default=60.0, help="idle log growth run length (0: skip)")
    ap.add_argument(
        "--capture-pairs",
        type=int,
        default=10,
        help="S1 capture off/on pairs for the cost of capture (0: skip)",
    )
    ap.add_argument("--worker", nargs=2, metavar=("CLIENT", "SCENARIO"), help=argparse.SUPPRESS)
    ap.add_argument("--dir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker, args.n1, args.steps2, Path(args.dir))))
        return
    clients = ["raw-msgspec", "neptune_sync"]
    if args.peers:
        for peer in args.peer_clients.split(","):
            if importable(args.peer_python, peer):
                clients.append(peer)
            else:
                print(f"{peer}: not importable by {args.peer_python}, skipped", file=sys.stderr)
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}, "
        f"reps={args.reps} (median), ours: N1={args.n1:,} S2 steps={args.steps2:,}"
        + (
            f"; peers ({args.peer_python}): N1={args.peer_n1:,} S2 steps={args.peer_steps2:,}"
            if len(clients) > 2
            else ""
        )
    )
    versions: dict[str, str] = {}
    scenarios = args.scenarios.split(",")
    for scenario in scenarios:
        results: dict[str, list[dict]] = {c: [] for c in clients}
        for _ in range(args.reps):  # interleave clients across repetitions
            for client in clients:
                peer = client in PEERS
                res = spawn(
                    client,
                    scenario,
                    args.peer_n1 if peer else args.n1,
                    args.peer_steps2 if peer else args.steps2,
                    args.peer_python if peer else sys.executable,
                )
                if res:
                    results[client].append(res)
                    versions[client] = res.get("version", "")

        base, ours = median_rate(results, "raw-msgspec"), median_rate(results, "neptune_sync")
        for client, runs in results.items():
            if not runs:
                continue
            rate = median_rate(results, client)
            bpp = statistics.median(r["bytes_per_point"] for r in runs)
            stop = statistics.median(r["stop_s"] for r in runs)
            ratio = f"{rate / base:6.3f}x raw" if base else "      n/a"
            cpu_ratio = paired_ratio(results, client, "cpu_rate") if client == "neptune_sync" else None
            if cpu_ratio:
                ratio += f" (per CPU second {cpu_ratio})"
            vs = f"neptune_sync {ours / rate:6.1f}x this" if client in PEERS and ours else ""
            mid = runs[len(runs) // 2]
            rss = f"RSS MiB at 25/50/75/100%: {mid['rss_mib']}"
            if mid.get("child_rss_mib") is not None:
                rss += f" + helper processes {mid['child_rss_mib']}"
            elif client == "wandb":
                rss += " (python process only)"
            print(
                f"{scenario:4} {client:20} {mid['points']:>9,} pts {rate:12,.0f} points/s  {ratio}  "
                f"{bpp:6.1f} B/point  stop {stop:6.3f} s  {rss}  {vs}".rstrip()
            )
    ratio = (
        capture_cost(args.n1, args.capture_pairs) if args.capture_pairs > 0 and "S1" in scenarios else None
    )
    idle = idle_growth(args.idle_seconds) if args.idle_seconds > 0 else None
    if ratio is not None or idle is not None:
        print(
            "cost of capture: S1 capture on / off "
            + (f"{ratio:.3f}x per CPU second (target >= 0.970)" if ratio is not None else "not measured")
            + ", idle run's log "
            + (f"{idle:.1f} KB per hour (target < 100)" if idle is not None else "not measured")
        )
    if len(clients) > 2:
        print("versions: " + ", ".join(f"{c} {v}" for c, v in versions.items() if v))


if __name__ == "__main__":
    main()
