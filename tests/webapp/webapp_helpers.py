"""Seeding a store for the browser tests, through its HTTP API, and small page helpers."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from store_helpers import encode, request, sha

from neptune_sync.wire import ops
from neptune_sync.wire.ops import Entry
from neptune_sync.wire.protocol import RunInfo

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PROJECT = "ws/proj"
# where the browser tests save what they saw: the pytest run's temporary directory, or the
# directory NEPTUNE_SYNC_SCREENSHOTS names (`NEPTUNE_SYNC_SCREENSHOTS=docs/screenshots` refreshes
# the README's pictures)
SCREENSHOTS_ENV = "NEPTUNE_SYNC_SCREENSHOTS"
HTML = b"<html><body><h3>report</h3><script>document.title='ran'</script></body></html>"
MAIN = RunInfo(PROJECT, "main-key", "MAIN-1", custom_run_id="main")
LIVE = RunInfo(PROJECT, "live-key", "LIVE-1")
LOSS_POINTS = 5000
TABLE_RUNS = 60


@dataclass
class Site:
    url: str
    token: str
    runs: dict[str, RunInfo]


def _call(url: str, token: str, method: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    req = urllib.request.Request(
        f"{url}{path}", data=body, method=method, headers={"Authorization": f"Bearer {token}", **headers}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.read()


def post(url: str, token: str, entries: list[Entry], run: RunInfo, writer: str = "w1") -> None:
    _call(
        url,
        token,
        "POST",
        "/v1/batches",
        encode(request(entries, run=run, writer=writer)),
        {"Content-Type": "application/msgpack"},
    )


def upload(url: str, token: str, data: bytes) -> ops.FileRef:
    _call(url, token, "PUT", f"/v1/blobs/{sha(data)}", data, {"X-Blob-Size": str(len(data))})
    return ops.FileRef(sha(data), len(data), "", "")


def png(color: tuple[int, int, int], size: int = 48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), color).save(out, "PNG")
    return out.getvalue()


def floats(path: str, seq: int, steps: range, f, ts0: float = 1_700_000_000.0) -> Entry:
    return Entry(seq, ts0, ops.LogFloats(path, tuple(ops.FloatPoint(float(s), f(s), ts0 + s) for s in steps)))


def _ref(data: bytes, name: str, ext: str, url: str, token: str) -> ops.FileRef:
    upload(url, token, data)
    return ops.FileRef(sha(data), len(data), name, ext)


def seed_main(url: str, token: str) -> None:
    """One run with every field type."""
    html = _ref(HTML, "report.html", "html", url, token)
    image = _ref(png((200, 40, 40)), "sample.png", "png", url, token)
    text = _ref(b"epoch,loss\n1,0.5\n", "metrics.csv", "csv", url, token)
    frames = [_ref(png((40, 40 + 50 * k, 200)), f"frame{k}.png", "png", url, token) for k in range(3)]
    items: list[ops.Op] = [
        ops.AssignString("sys/name", "main experiment"),
        ops.AddStrings("sys/tags", ("baseline", "resnet")),
        ops.AssignString("sys/state", "Inactive"),
        ops.AssignFloat("params/lr", 0.01),
        ops.AssignInt("params/batch", 64),
        ops.AssignBool("params/augment", True),
        ops.AssignString("params/optimizer", "adam"),
        ops.AssignDatetime("params/started", dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)),
        ops.AssignFile("files/report", html),
        ops.AssignFile("files/sample", image),
        ops.AssignFile("files/metrics", text),
        ops.UploadFileSet(
            "files/set", (ops.FileSetEntry("a/metrics.csv", text), ops.FileSetEntry("b/report.html", html))
        ),
        ops.TrackArtifact(
            "data/train",
            (ops.ArtifactEntry("train.csv", sha(b"t"), 10, 1.0, "/data/train.csv"),),
            sha(b"artifact"),
        ),
        ops.LogStrings(
            "logs/stdout",
            tuple(ops.StringPoint(float(s), f"line {s}: loss ok", 1.7e9 + s) for s in range(300)),
        ),
        ops.LogFiles(
            "images/samples", tuple(ops.FilePoint(float(k * 10), frames[k], 1.7e9 + k) for k in range(3))
        ),
    ]
    entries, seq = [], 1
    for op in items:
        entries.append(Entry(seq, 1.7e9, op))
        seq += ops.op_point_count(op)
    spike = LOSS_POINTS // 2
    for path, f in (
        ("train/loss", lambda s: 1000.0 if s == spike else 2.0 / (1 + s / 500)),
        ("train/acc", lambda s: 1 - 1 / (1 + s / 300)),
        ("eval/loss", lambda s: 2.2 / (1 + s / 450)),
    ):
        e = floats(path, seq, range(LOSS_POINTS), f)
        entries.append(e)
        seq = e.last_seq + 1
    post(url, token, entries, MAIN)


def seed_table(url: str, token: str) -> None:
    """Runs with params, metrics, tags and states for the runs table and compare."""
    for n in range(TABLE_RUNS):
        run = RunInfo(PROJECT, f"t{n:03d}", f"T-{n}")
        entries = [
            Entry(1, 1.6e9 + n, ops.AssignString("sys/name", f"sweep {n}")),
            Entry(2, 1.6e9, ops.AssignString("sys/state", "Inactive")),
            Entry(3, 1.6e9, ops.AddStrings("sys/tags", ("sweep", "odd" if n % 2 else "even"))),
            Entry(4, 1.6e9, ops.AssignFloat("params/lr", round(0.01 * (n + 1), 4))),
            Entry(5, 1.6e9, ops.AssignInt("params/depth", 10 + n % 5)),
            floats("train/loss", 6, range(200), lambda s, n=n: (1 + n / 10) / (1 + s / 20)),
        ]
        post(url, token, entries, run)


def seed_live(url: str, token: str) -> None:
    entries = [
        Entry(1, 1.7e9, ops.AssignString("sys/name", "live run")),
        Entry(2, 1.7e9, ops.AssignString("sys/state", "Active")),
        floats("train/loss", 3, range(10), lambda s: 1.0 / (1 + s)),
    ]
    post(url, token, entries, LIVE)


def seed_store(url: str, token: str) -> dict[str, RunInfo]:
    seed_main(url, token)
    seed_table(url, token)
    seed_live(url, token)
    return {"main": MAIN, "live": LIVE}


def read_json(url: str, token: str, path: str) -> object:
    return json.loads(_call(url, token, "GET", path, None, {}))  # type: ignore[arg-type]


def sign_in(page, site: Site, hash_: str = "#/") -> None:
    """Open the app and give it the token the way a person does: once, in the form."""
    page.goto(f"{site.url}/{hash_}")
    page.get_by_label("API token").fill(site.token)
    page.get_by_role("button", name="Open").click()


def until(page, expression: str, timeout: float = 15.0) -> None:
    """Poll a JS expression until it is truthy (wait_for_function would need eval, which the app's CSP forbids)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        time.sleep(0.05)


def shot(page, name: str) -> None:
    named = os.environ.get(SCREENSHOTS_ENV)
    folder = Path(named) if named else Path(tempfile.gettempdir()) / "neptune-sync-screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"))
