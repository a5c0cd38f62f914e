"""Web app figures in a real browser (the OS's Chromium via Playwright) against a live SQLite store.

1. One series of N points (default 10,000,000): the exact bucketed request (1,000 buckets) and the
   sampled preview request vs reading the same series raw through /v1/run/series, all over HTTP in
   this run, with payload sizes; then the run page: preview and exact chart drawn after navigation.
2. Compare R runs x 4 series of M points: all charts drawn (preview, exact) after navigation.
3. Runs table of T runs x 50 columns: first rows shown after navigation, then frame intervals
   (requestAnimationFrame deltas) and long tasks (PerformanceObserver) while the table scrolls a
   fixed distance per frame, beside the same rows in a plain table that holds every row in the
   DOM (built in the page from the same /v1/runs answer, same CSS), measured in the same run.

    .venv/bin/python bench/webapp.py                      # the target sizes (a long time)
    .venv/bin/python bench/webapp.py --points 1e6 --compare-points 1e5 --table-runs 2000
    .venv/bin/python bench/webapp.py --only-table         # the runs table figures alone
    .venv/bin/python bench/webapp.py --only-compare --data /tmp/webapp-store   # compare alone;
        # --data keeps the store in that folder and skips ingesting what a previous run left there
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

from neptune_sync.urls import run_url  # noqa: E402
from neptune_sync.wire import ops  # noqa: E402
from neptune_sync.wire.ops import Entry  # noqa: E402
from neptune_sync.wire.protocol import RunInfo  # noqa: E402

PROJECT = "bench/web"
CHUNK = 200_000
SERIES = "/v1/series/buckets?project=bench%2Fweb&run=big&path=train%2Floss&buckets=1000"
SCROLL_FRAMES = 300
SCROLL_PX = 96  # per frame: three rows, a fast wheel

# Scroll the element `selector` by `px` each animation frame for `frames` frames; collect the
# frame intervals and the long tasks (> 50 ms of main-thread work) observed meanwhile.
SCROLL_JS = """async ([selector, frames, px]) => {
  const scroller = document.querySelector(selector);
  const longTasks = [];
  const observer = new PerformanceObserver((list) => longTasks.push(...list.getEntries().map((e) => e.duration)));
  observer.observe({ type: "longtask" });
  const deltas = [];
  await new Promise((done) => {
    let last = null;
    const tick = (t) => {
      if (last !== null) deltas.push(t - last);
      last = t;
      scroller.scrollTop += px;
      if (deltas.length < frames) requestAnimationFrame(tick); else done();
    };
    requestAnimationFrame(tick);
  });
  await new Promise((r) => setTimeout(r, 200));
  observer.disconnect();
  return { deltas, longTasks, end: scroller.scrollTop };
}"""

# When the first run rows are in the document and the next frame has started (they are painted).
FIRST_ROWS_JS = """new MutationObserver((_, observer) => {
  if (!document.querySelector("table.runs tbody tr[data-run]")) return;
  observer.disconnect();
  requestAnimationFrame(() => { window.firstRowsAt = performance.now(); });
}).observe(document, { childList: true, subtree: true });"""

# The baseline: every matching run as a row of one plain table (what a table without virtual
# scrolling holds), from the same endpoint and the same CSS classes as the app's table.
PLAIN_TABLE_JS = """async ([project, columns]) => {
  const t0 = performance.now();
  const params = new URLSearchParams({ project, limit: "100000", columns: ["sys/name", "sys/state", "sys/tags", ...columns].join(",") });
  const answer = await fetch(`/v1/runs?${params}`, { headers: { Authorization: `Bearer ${sessionStorage.getItem("neptune-sync-token")}` } });
  const { rows } = await answer.json();
  const cell = (text) => { const td = document.createElement("td"); td.textContent = text; return td; };
  const body = document.createElement("tbody");
  for (const row of rows) {
    const tr = document.createElement("tr");
    const box = document.createElement("td"); box.append(Object.assign(document.createElement("input"), { type: "checkbox" }));
    const link = document.createElement("td"); link.append(Object.assign(document.createElement("a"), { href: "#", textContent: row.run.run_id }));
    const tags = document.createElement("td");
    for (const t of row.fields["sys/tags"] ?? []) tags.append(Object.assign(document.createElement("button"), { className: "chip tag", textContent: t }));
    tr.append(box, link, cell(row.fields["sys/name"] ?? ""), cell(row.fields["sys/state"] ?? ""), tags, cell(String(row.run.created)),
      ...columns.map((c) => cell(String(row.fields[c] ?? ""))));
    body.append(tr);
  }
  const wrap = document.querySelector(".runs-wrap");
  const table = document.createElement("table");
  table.className = "grid runs-plain";
  table.append(document.querySelector("table.runs thead").cloneNode(true), body);
  wrap.replaceChildren(table);
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r)));
  return { rows: rows.length, ms: performance.now() - t0 };
}"""


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


def bucket_requests(page) -> str:
    """The page's /v1/series/buckets requests: how many, when sent and answered, payload sizes."""
    got = page.evaluate(
        "performance.getEntriesByType('resource').filter(e => e.name.includes('/v1/series/buckets?'))"
        ".map(e => [e.name.includes('sample=true'), e.startTime, e.responseEnd, e.encodedBodySize])"
    )
    parts = []
    for sampled, label in ((True, "with sample=true"), (False, "without")):
        picked = [g for g in got if g[0] == sampled]
        if picked:
            parts.append(
                f"{len(picked)} {label}, sent {min(g[1] for g in picked):.0f}-{max(g[1] for g in picked):.0f} ms,"
                f" answered {min(g[2] for g in picked):.0f}-{max(g[2] for g in picked):.0f} ms,"
                f" {sum(g[3] for g in picked) / 1024:.0f} KB"
            )
    return "; ".join(parts)


def series_figures(url: str, token: str, n: int, with_raw: bool) -> None:
    call(url, token, SERIES)  # a second visit: the pages are in the OS cache
    exact, t_exact = timed(lambda: call(url, token, SERIES))
    preview, t_preview = timed(lambda: call(url, token, SERIES + "&sample=true"))
    snapped, t_snapped = timed(lambda: call(url, token, SERIES + "&snap=true"))
    raw_bytes, t_raw = read_raw(url, token) if with_raw else (0, math.nan)
    print(
        f"series of {n:,} points, 1,000 buckets: exact {t_exact * 1000:.0f} ms, {len(exact) / 1024:.0f} KB;"
        f" sampled preview {t_preview * 1000:.0f} ms, {len(preview) / 1024:.0f} KB;"
        f" snapped {t_snapped * 1000:.0f} ms, {len(snapped) / 1024:.0f} KB;"
        f" raw read of the same series {t_raw * 1000:.0f} ms, {raw_bytes / 1e6:.0f} MB"
        f" (raw/exact {t_raw / t_exact:.1f}x, raw/preview {t_raw / t_preview:.0f}x)"
    )


def frames(result: dict) -> str:
    deltas = sorted(result["deltas"])
    pick = lambda q: deltas[min(len(deltas) - 1, int(q * len(deltas)))]  # noqa: E731
    late = sum(1 for d in deltas if d > 1000 / 60 * 1.5)
    tasks = result["longTasks"]
    return (
        f"frame p50 {pick(0.5):.1f} ms, p95 {pick(0.95):.1f} ms, max {deltas[-1]:.1f} ms,"
        f" {late}/{len(deltas)} frames late (> 25 ms), {len(tasks)} long tasks ({sum(tasks):.0f} ms)"
    )


def table_figures(page, base: str, runs: int) -> None:
    """The runs table: first rows after navigation; scrolling the virtual table, then a plain one."""
    columns = [f"params/p{k:02d}" for k in range(50)]
    cols = ",".join(c.replace("/", "%252F") for c in columns)
    page.add_init_script(FIRST_ROWS_JS)
    page.goto(base + f"#/p/bench%2Fweb/runs?cols={cols}")
    page.wait_for_selector("table.runs tbody tr[data-run]")
    while (ms := page.evaluate("window.firstRowsAt")) is None:
        time.sleep(0.01)
    ask = page.evaluate(
        "performance.getEntriesByType('resource').filter(e => e.name.includes('/v1/runs?'))"
        ".map(e => [e.startTime, e.duration, e.encodedBodySize])[0]"
    )
    print(
        f"runs table of {runs:,} runs x 50 columns: first rows shown {ms:.0f} ms after navigation"
        f" (their /v1/runs request: sent at {ask[0]:.0f} ms, answered in {ask[1]:.0f} ms, {ask[2] / 1024:.0f} KB)"
    )
    in_dom = page.evaluate("document.querySelectorAll('table.runs tbody tr').length")
    virtual = page.evaluate(SCROLL_JS, [".runs-wrap", SCROLL_FRAMES, SCROLL_PX])
    print(
        f"  virtual table ({in_dom} rows in the DOM), scrolling {SCROLL_PX} px a frame for {SCROLL_FRAMES}"
        f" frames: {frames(virtual)}"
    )
    plain = page.evaluate(PLAIN_TABLE_JS, [PROJECT, columns])
    scroll = page.evaluate(SCROLL_JS, [".runs-wrap", SCROLL_FRAMES, SCROLL_PX])
    print(
        f"  plain table ({plain['rows']:,} rows in the DOM, built in {plain['ms']:.0f} ms), the same scroll:"
        f" {frames(scroll)}"
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
        for visit in () if args.only_table or args.only_compare else ("first", "second"):
            first, exact = drawn_after_navigation(page, run_url(base.format(visit), PROJECT, "BIG-1"), 1)
            print(
                f"run page ({visit} visit), {int(args.points):,}-point chart: preview drawn {first:.0f} ms,"
                f" exact buckets drawn {exact:.0f} ms after navigation"
            )
        if compare:
            hash_ = f"#/p/bench%2Fweb/compare?runs={','.join(compare)}"
            first, exact = drawn_after_navigation(page, base.format("compare") + hash_, 4)
            print(
                f"compare {len(compare)} runs x 4 series x {int(args.compare_points):,} points: all previews"
                f" drawn {first:.0f} ms, all exact {exact:.0f} ms after navigation"
            )
            print(f"  their bucket requests: {bucket_requests(page)}")
        if not args.only_compare:
            table_figures(page, base.format("table"), args.table_runs)
        browser.close()


def series_and_compare(url: str, token: str, args: argparse.Namespace, data: Path) -> list[str]:
    """Ingest the big series (and print its request figures) and the compare runs: their run keys."""
    compare = [RunInfo(PROJECT, f"c{i}", f"C-{i}") for i in range(args.compare_runs)]
    if not args.only_compare:
        big_series(url, token, args, data)
    paths = [f"m/s{k}" for k in range(4)]
    done = data / f"bench-compare-{args.compare_runs}x{int(args.compare_points)}"
    if not done.exists():
        _, t = timed(lambda: [log_series(url, token, r, paths, int(args.compare_points)) for r in compare])
        print(f"ingested {len(compare)} runs x 4 series x {int(args.compare_points):,} points in {t:.1f} s")
        done.touch()
    return [r.run_key for r in compare]


def big_series(url: str, token: str, args: argparse.Namespace, data: Path) -> None:
    """Ingest the big series unless ``data`` holds it, and print its request figures."""
    done = data / f"bench-series-{int(args.points)}"
    if done.exists():
        series_figures(url, token, int(args.points), not args.no_raw)
        return
    _, t = timed(
        lambda: log_series(url, token, RunInfo(PROJECT, "big", "BIG-1"), ["train/loss"], int(args.points))
    )
    print(f"ingested {int(args.points):,} points in {t:.1f} s")
    done.touch()
    series_figures(url, token, int(args.points), not args.no_raw)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=float, default=1e7)
    ap.add_argument("--compare-runs", type=int, default=20)
    ap.add_argument("--compare-points", type=float, default=1e6)
    ap.add_argument("--table-runs", type=int, default=10_000)
    ap.add_argument("--no-raw", action="store_true", help="skip reading the whole series raw")
    ap.add_argument("--only-table", action="store_true", help="only the runs table figures")
    ap.add_argument("--only-compare", action="store_true", help="only the compare figures")
    ap.add_argument("--data", type=Path, help="keep the store here; reuse what an earlier run ingested")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or Path(tmp)
        data.mkdir(parents=True, exist_ok=True)
        extra = ("--token-project", PROJECT, "--token-file", f"{tmp}/token", "--max-body", str(64 << 20))
        proc, url = start_server(data, *extra)
        try:
            token = Path(f"{tmp}/token").read_text().strip()
            compare = [] if args.only_table else series_and_compare(url, token, args, data)
            if not args.only_compare:
                _, t = timed(lambda: log_table(url, token, args.table_runs))
                print(f"ingested {args.table_runs:,} runs x 50 fields in {t:.1f} s")
            browser_figures(url, token, args, compare)
        finally:
            stop(proc)


if __name__ == "__main__":
    main()
