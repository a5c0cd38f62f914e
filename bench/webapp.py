"""Web app figures in a real browser (the OS's Chromium via Playwright) against a live SQLite store.

1. One series of N points (default 10,000,000): the exact bucketed request (1,000 buckets) and the
   sampled preview request vs reading the same series raw through /v1/run/series, all over HTTP in
   this run, with payload sizes; then the run page: preview and exact chart drawn after navigation.
2. Compare R runs x 4 series of M points: all charts drawn (preview, exact) after navigation.
3. Runs table of T runs x 50 columns: first rows shown after navigation.

    .venv/bin/python bench/webapp.py                      # the target sizes (a long time)
    .venv/bin/python bench/webapp.py --points 1e6 --compare-points 1e5 --table-runs 2000
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).parents[1]
sys.path[:0] = [str(ROOT / "tests" / "store"), str(ROOT / "tests" / "webapp")]

from store_helpers import encode, request, start_server, stop  # noqa: E402
from webapp_helpers import CHROMIUM, LAUNCH_ARGS  # noqa: E402

from neptune_sync.oplog import ops  # noqa: E402
from neptune_sync.oplog.framing import Entry  # noqa: E402
from neptune_sync.protocol import RunInfo  # noqa: E402
from neptune_sync.urls import run_url  # noqa: E402

PROJECT = "bench/web"
CHUNK = 200_000
SERIES = "/v1/series/buckets?project=bench%2Fweb&run=big&path=train%2Floss&buckets=1000"


def call(url: str, token: str, path: str, body: bytes | None = None, method: str = "GET") -> bytes:
    headers = {"Authorization": f"Bearer {token}"}
    if body is not None:
        headers["Content-Type"] = "application/msgpack"
    req = urllib.request.Request(f"{url}{path}", data=body, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=3600) as resp:
        return resp.read()


def log_series(url: str, token: str, run: RunInfo, paths: list[str], points: int) -> None:
    seq = 1
    for path in paths:
        for start in range(0, points, CHUNK):
            steps = range(start, min(points, start + CHUNK))
            value = lambda s: 1.0 / (1 + s * 1e-4) + (5.0 if s % 100_003 == 0 else 0.0)  # noqa: E731
            pts = tuple(ops.FloatPoint(float(s), value(s), 1.7e9 + s) for s in steps)
            entry = Entry(seq, 1.7e9, ops.LogFloats(path, pts))
            call(url, token, "/v1/batches", encode(request([entry], run=run)), "POST")
            seq = entry.last_seq + 1


def log_table(url: str, token: str, runs: int) -> None:
    for i in range(runs):
        run = RunInfo(PROJECT, f"t{i:05d}", f"T-{i}")
        entries = [
            Entry(k + 1, 1.6e9 + i, ops.AssignFloat(f"params/p{k:02d}", float(i * k % 97))) for k in range(50)
        ]
        call(url, token, "/v1/batches", encode(request(entries, run=run)), "POST")


def read_raw(url: str, token: str) -> tuple[int, float]:
    """Every point of the big series through /v1/run/series pages of 1M: (bytes, seconds)."""
    size, t0, start = 0, time.perf_counter(), 0.0
    while True:
        path = f"/v1/run/series?project=bench%2Fweb&run=big&path=train%2Floss&limit=1000000&start={start}"
        page = call(url, token, path)
        size += len(page)
        tail = page[-60:]
        if b'"next_after":null' in tail:
            return size, time.perf_counter() - t0
        start = float(tail.rsplit(b'"next_after":', 1)[1].rstrip(b"}")) + 1


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def drawn_after_navigation(page, url: str, charts: int) -> tuple[float, float]:
    """ms from navigation start until every chart drew its preview, and its exact buckets."""
    page.goto(url)
    done = f"[...document.querySelectorAll('figure.chart')].filter(c => c.dataset.fetches === '1').length >= {charts}"
    while not page.evaluate(done):
        time.sleep(0.01)
    times = page.evaluate(
        "[...document.querySelectorAll('figure.chart')]"
        ".map(c => [Number(c.dataset.previewAt || c.dataset.drawnAt), Number(c.dataset.drawnAt)])"
    )
    return max(t[0] for t in times), max(t[1] for t in times)


def series_figures(url: str, token: str, n: int, with_raw: bool) -> None:
    call(url, token, SERIES)  # a second visit: the pages are in the OS cache
    exact, t_exact = timed(lambda: call(url, token, SERIES))
    preview, t_preview = timed(lambda: call(url, token, SERIES + "&sample=true"))
    raw_bytes, t_raw = read_raw(url, token) if with_raw else (0, math.nan)
    print(
        f"series of {n:,} points, 1,000 buckets: exact {t_exact * 1000:.0f} ms, {len(exact) / 1024:.0f} KB;"
        f" sampled preview {t_preview * 1000:.0f} ms, {len(preview) / 1024:.0f} KB;"
        f" raw read of the same series {t_raw * 1000:.0f} ms, {raw_bytes / 1e6:.0f} MB"
        f" (raw/exact {t_raw / t_exact:.1f}x, raw/preview {t_raw / t_preview:.0f}x)"
    )


def browser_figures(url: str, token: str, args: argparse.Namespace, compare: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{url}/")
        page.get_by_label("API token").fill(token)
        page.get_by_role("button", name="Open").click()
        page.wait_for_selector("table.grid")
        base = url + "/?nav={}"  # a query string makes each goto a new document
        for visit in ("first", "second"):
            first, exact = drawn_after_navigation(page, run_url(base.format(visit), PROJECT, "BIG-1"), 1)
            print(
                f"run page ({visit} visit), {int(args.points):,}-point chart: preview drawn {first:.0f} ms,"
                f" exact buckets drawn {exact:.0f} ms after navigation"
            )
        hash_ = f"#/p/bench%2Fweb/compare?runs={','.join(compare)}"
        first, exact = drawn_after_navigation(page, base.format("compare") + hash_, 4)
        print(
            f"compare {len(compare)} runs x 4 series x {int(args.compare_points):,} points: all previews drawn"
            f" {first:.0f} ms, all exact {exact:.0f} ms after navigation"
        )
        cols = ",".join(f"params%252Fp{k:02d}" for k in range(50))
        page.goto(base.format("table") + f"#/p/bench%2Fweb/runs?cols={cols}")
        page.wait_for_selector("table.runs tbody tr")
        ms = page.evaluate("performance.now()")
        print(
            f"runs table of {args.table_runs:,}+ runs x 50 columns: first rows shown {ms:.0f} ms after navigation"
        )
        browser.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=float, default=1e7)
    ap.add_argument("--compare-runs", type=int, default=20)
    ap.add_argument("--compare-points", type=float, default=1e6)
    ap.add_argument("--table-runs", type=int, default=10_000)
    ap.add_argument("--no-raw", action="store_true", help="skip reading the whole series raw")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        extra = ("--token-project", PROJECT, "--token-file", f"{tmp}/token", "--max-body", str(64 << 20))
        proc, url = start_server(Path(tmp), *extra)
        try:
            token = Path(f"{tmp}/token").read_text().strip()
            _, t = timed(
                lambda: log_series(
                    url, token, RunInfo(PROJECT, "big", "BIG-1"), ["train/loss"], int(args.points)
                )
            )
            print(f"ingested {int(args.points):,} points in {t:.1f} s")
            series_figures(url, token, int(args.points), not args.no_raw)
            compare = [RunInfo(PROJECT, f"c{i}", f"C-{i}") for i in range(args.compare_runs)]
            paths = [f"m/s{k}" for k in range(4)]
            _, t = timed(
                lambda: [log_series(url, token, r, paths, int(args.compare_points)) for r in compare]
            )
            print(
                f"ingested {len(compare)} runs x 4 series x {int(args.compare_points):,} points in {t:.1f} s"
            )
            _, t = timed(lambda: log_table(url, token, args.table_runs))
            print(f"ingested {args.table_runs:,} runs x 50 fields in {t:.1f} s")
            browser_figures(url, token, args, [r.run_key for r in compare])
        finally:
            stop(proc)


if __name__ == "__main__":
    main()
