"""Web app figures in a real browser (the OS's Chromium via Playwright) against a live SQLite store.

1. One series of N points (default 10,000,000): the bucketed request (1,000 buckets) vs reading the
   same series raw through /v1/run/series, both over HTTP in this run; payload sizes; the chart
   drawn after navigating to the run page.
2. Compare R runs x 4 series of M points: all charts drawn after navigation.
3. Runs table of T runs x 50 columns: first rows shown after navigation.

    .venv/bin/python bench/webapp.py                      # the issue's sizes (several minutes)
    .venv/bin/python bench/webapp.py --points 1e6 --compare-points 1e5 --table-runs 2000
"""

from __future__ import annotations

import argparse
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


def call(url: str, token: str, path: str, body: bytes | None = None, method: str = "GET") -> bytes:
    headers = {"Authorization": f"Bearer {token}"}
    if body is not None:
        headers["Content-Type"] = "application/msgpack"
    req = urllib.request.Request(f"{url}{path}", data=body, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=600) as resp:
        return resp.read()


def log_series(url: str, token: str, run: RunInfo, paths: list[str], points: int, seq: int = 1) -> int:
    for path in paths:
        for start in range(0, points, CHUNK):
            steps = range(start, min(points, start + CHUNK))
            pts = tuple(
                ops.FloatPoint(float(s), 1.0 / (1 + s * 1e-4) + (5.0 if s % 100_003 == 0 else 0.0), 1.7e9 + s)
                for s in steps
            )
            entry = Entry(seq, 1.7e9, ops.LogFloats(path, pts))
            call(url, token, "/v1/batches", encode(request([entry], run=run)), "POST")
            seq = entry.last_seq + 1
    return seq


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def drawn_after_navigation(page, url: str, charts: int, selector: str = "figure.chart") -> float:
    """ms from navigation start until every chart has drawn its first fetch."""
    page.goto(url)
    expr = f"[...document.querySelectorAll('{selector}')].filter(c => c.dataset.fetches === '1').length >= {charts}"
    while not page.evaluate(expr):
        time.sleep(0.01)
    return page.evaluate(
        f"Math.max(...[...document.querySelectorAll('{selector}')].map(c => Number(c.dataset.drawnAt)))"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=float, default=1e7)
    ap.add_argument("--compare-runs", type=int, default=20)
    ap.add_argument("--compare-points", type=float, default=1e6)
    ap.add_argument("--table-runs", type=int, default=10_000)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_server(
            Path(tmp), "--token-project", PROJECT, "--token-file", f"{tmp}/token", "--max-body", str(64 << 20)
        )
        try:
            token = Path(f"{tmp}/token").read_text().strip()
            big = RunInfo(PROJECT, "big", "BIG-1")
            n = int(args.points)
            _, t = timed(lambda: log_series(url, token, big, ["train/loss"], n))
            print(f"ingested {n:,} points in {t:.1f} s")
            q = f"/v1/series/buckets?project=bench%2Fweb&run=big&path=train%2Floss&buckets=1000"
            call(url, token, q)  # warm the page cache like a second visit
            body, agg = timed(lambda: call(url, token, q))
            raw_bytes, raw = 0, time.perf_counter()
            after = -1.0
            while True:
                page = call(
                    url,
                    token,
                    f"/v1/run/series?project=bench%2Fweb&run=big&path=train%2Floss&limit=1000000&start={after + 1}",
                )
                raw_bytes += len(page)
                last = page.rfind(b"],[")
                if b'"next_after":null' in page[-40:]:
                    break
                after = float(page[last + 3 :].split(b",", 1)[0])
            raw = time.perf_counter() - raw
            print(
                f"series of {n:,} points, 1,000 buckets: {agg * 1000:.0f} ms, {len(body) / 1024:.0f} KB;"
                f" raw read of the same series: {raw * 1000:.0f} ms, {raw_bytes / 1e6:.0f} MB; ratio {raw / agg:.0f}x"
            )

            cruns = [RunInfo(PROJECT, f"c{i}", f"C-{i}") for i in range(args.compare_runs)]
            cp = int(args.compare_points)
            _, t = timed(
                lambda: [log_series(url, token, r, [f"m/s{k}" for k in range(4)], cp) for r in cruns]
            )
            print(f"ingested {args.compare_runs} runs x 4 x {cp:,} points in {t:.1f} s")

            for i in range(args.table_runs):
                run = RunInfo(PROJECT, f"t{i:05d}", f"T-{i}")
                entries = [
                    Entry(k + 1, 1.6e9 + i, ops.AssignFloat(f"params/p{k:02d}", float(i * k % 97)))
                    for k in range(50)
                ]
                call(url, token, "/v1/batches", encode(request(entries, run=run)), "POST")
            print(f"ingested {args.table_runs:,} runs x 50 fields")

            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.goto(f"{url}/")
                page.get_by_label("API token").fill(token)
                page.get_by_role("button", name="Open").click()
                page.wait_for_selector("table.grid")
                base = url + "/?nav={}"
                for attempt in ("cold", "warm"):
                    ms = drawn_after_navigation(page, run_url(base.format(attempt), PROJECT, "BIG-1"), 1)
                    print(f"run page, {n:,}-point chart drawn ({attempt}): {ms:.0f} ms after navigation")
                runs = ",".join(r.run_key for r in cruns)
                ms = drawn_after_navigation(
                    page, f"{base.format('cmp')}#/p/bench%2Fweb/compare?runs={runs}", 4
                )
                print(
                    f"compare {args.compare_runs} runs x 4 series x {cp:,} points: all charts drawn {ms:.0f} ms after navigation"
                )
                cols = ",".join(f"params%252Fp{k:02d}" for k in range(50))
                page.goto(f"{base.format('table')}#/p/bench%2Fweb/runs?cols={cols}")
                page.wait_for_selector("table.runs tbody tr")
                ms = page.evaluate("performance.now()")
                print(
                    f"runs table of {args.table_runs + args.compare_runs + 1:,} runs x 50 columns: first rows shown {ms:.0f} ms after navigation"
                )
                browser.close()
        finally:
            stop(proc)


if __name__ == "__main__":
    main()
