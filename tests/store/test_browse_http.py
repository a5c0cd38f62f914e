"""The web app's read endpoints over HTTP on a live store: auth, bad input, file headers, paging."""

from __future__ import annotations

import json

import aiohttp
import pytest
import pytest_asyncio
from store_helpers import PROJECT, RUN, TIMEOUT, auth, floats, post_batch, put_blob, request, sha

from neptune_sync.wire import ops
from neptune_sync.wire.ops import Entry
from neptune_sync.wire.protocol import RunInfo

pytestmark = pytest.mark.asyncio
HTML = b"<html><script>alert(1)</script><b>report</b></html>"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 20


@pytest_asyncio.fixture
async def loaded(store):
    token = await store.token(PROJECT, ["read", "write"])
    html, png = (
        ops.FileRef(sha(HTML), len(HTML), "report.html", "html"),
        ops.FileRef(sha(PNG), len(PNG), "", "png"),
    )
    entries = [
        Entry(1, 10.0, ops.AssignFile("files/report", html)),
        Entry(2, 10.0, ops.LogFiles("images/sample", (ops.FilePoint(3.0, png, 11.0),))),
        Entry(3, 10.0, ops.UploadFileSet("files/set", (ops.FileSetEntry("d/r.html", html),))),
        floats("loss", 4, range(0, 500)),
    ]
    async with aiohttp.ClientSession(timeout=TIMEOUT) as s:
        for data in (HTML, PNG):
            await put_blob(s, store.url, token, data)
        await post_batch(s, store.url, token, request(entries))
        for n in range(25):
            run = RunInfo(PROJECT, f"k{n:02d}", f"R{n}")
            await post_batch(
                s, store.url, token, request([Entry(1, 100.0 + n, ops.AssignFloat("p/x", n))], run=run)
            )
        yield store, s, await store.token(PROJECT, ["read"])


async def get(s, url, token, **params):
    async with s.get(url, params=params if params else None, headers=auth(token) if token else {}) as r:
        body = await r.read()
        return r.status, r.headers, body


async def test_projects_and_fields_need_a_read_token(loaded):
    store, s, token = loaded
    status, _, body = await get(s, f"{store.url}/v1/projects", token)
    assert status == 200
    (summary,) = json.loads(body)
    assert summary["project"] == PROJECT and summary["runs"] == 26 and summary["last_activity"] >= 124.0
    assert (await get(s, f"{store.url}/v1/projects", None))[0] == 401
    write_only = await store.token(PROJECT, ["write"])
    status, _, body = await get(s, f"{store.url}/v1/projects", write_only)
    assert (status, json.loads(body)) == (200, [])
    assert (await get(s, f"{store.url}/v1/project/fields", token, project="other/proj"))[0] == 403
    status, _, body = await get(s, f"{store.url}/v1/project/fields", token, project=PROJECT)
    assert status == 200 and {"path": "loss", "type": "floatSeries", "runs": 1} in json.loads(body)


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"path": "loss"}, "'run'"),
        ({"run": RUN.run_key}, "'path'"),
        ({"run": RUN.run_key, "path": "loss", "buckets": "0"}, "'buckets'"),
        ({"run": RUN.run_key, "path": "loss", "x": "epoch"}, "'x'"),
        ({"run": RUN.run_key, "path": "loss", "start": "soon"}, "'start'"),
        ({"run": RUN.run_key, "path": "loss", "stop": "nan"}, "'stop'"),
        ({"run": RUN.run_key, "path": "loss", "snap": "maybe"}, "'snap'"),
    ],
)
async def test_bad_bucket_requests_are_400_naming_the_parameter(loaded, params, names):
    store, s, token = loaded
    status, _, body = await get(s, f"{store.url}/v1/series/buckets", token, project=PROJECT, **params)
    assert status == 400 and names in body.decode()


async def test_buckets_over_http_leave_out_what_is_not_a_float_series(loaded):
    store, s, token = loaded
    params = [("project", PROJECT), ("buckets", "50")]
    params += [("run", r) for r in (RUN.custom_run_id, "nope", "k03")] + [
        ("path", p) for p in ("loss", "files/report")
    ]
    async with s.get(f"{store.url}/v1/series/buckets", params=params, headers=auth(token)) as r:
        assert r.status == 200
        got = await r.json()
    assert [(g["run"], g["path"]) for g in got] == [(RUN.run_key, "loss")]
    assert sum(got[0]["count"]) == 500 and len(got[0]["count"]) == 50 and got[0]["raw"] is False
    too_many = [("project", PROJECT), ("path", "loss")] + [("run", f"r{i}") for i in range(21)]
    async with s.get(f"{store.url}/v1/series/buckets", params=too_many, headers=auth(token)) as r:
        assert r.status == 400 and "1 to 20" in (await r.json())["message"]


async def test_inline_files_are_typed_sandboxed_and_not_sniffed(loaded):
    store, s, token = loaded
    url = f"{store.url}/v1/run/file"
    status, headers, body = await get(
        s, url, token, project=PROJECT, run=RUN.run_key, path="files/report", inline="true"
    )
    assert (status, body, headers["Content-Type"]) == (200, HTML, "text/html")
    assert headers["Content-Security-Policy"] == "sandbox" and headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Disposition"] == "inline; filename*=UTF-8''report.html"
    status, headers, _ = await get(s, url, token, project=PROJECT, run=RUN.run_key, path="files/report")
    assert headers["Content-Type"] == "application/octet-stream" and headers[
        "Content-Disposition"
    ].startswith("attachment")
    assert headers["Content-Security-Policy"] == "sandbox"
    status, headers, body = await get(
        s, url, token, project=PROJECT, run=RUN.run_key, path="images/sample", step="3", inline="1"
    )
    assert (status, body, headers["Content-Type"]) == (200, PNG, "image/png")
    assert "sample.png" in headers["Content-Disposition"]
    status, _, body = await get(
        s, url, token, project=PROJECT, run=RUN.run_key, path="files/set", member="d/r.html"
    )
    assert (status, body) == (200, HTML)


@pytest.mark.parametrize(
    ("params", "status", "says"),
    [
        ({"path": "images/sample"}, 400, "'step' is required"),
        ({"path": "images/sample", "step": "4"}, 404, "no file at step 4"),
        ({"path": "files/set"}, 400, "'member'"),
        ({"path": "files/set", "member": "nope"}, 404, "no file 'nope'"),
        ({"path": "loss"}, 409, "floatSeries field, not a file"),
    ],
)
async def test_file_requests_that_cannot_be_served_say_why(loaded, params, status, says):
    store, s, token = loaded
    got, _, body = await get(s, f"{store.url}/v1/run/file", token, project=PROJECT, run=RUN.run_key, **params)
    assert got == status and says in body.decode()


async def test_runs_table_pages_with_a_total(loaded):
    store, s, token = loaded
    seen = []
    for offset in (0, 10, 20):
        params = {
            "project": PROJECT,
            "sort_by": "p/x",
            "ascending": "true",
            "limit": "10",
            "offset": str(offset),
        }
        status, headers, body = await get(s, f"{store.url}/v1/runs", token, **params)
        assert status == 200 and headers["X-Total-Count"] == "26"
        seen += [row["run"]["run_key"] for row in json.loads(body)["rows"]]
    assert seen == [f"k{n:02d}" for n in range(25)] + [RUN.run_key]  # the run without p/x sorts last


async def test_the_app_page_is_served_with_a_strict_policy(loaded):
    store, s, _ = loaded
    status, headers, body = await get(s, f"{store.url}/", None)
    assert status == 200 and b'<div id="app"' in body
    assert (
        "script-src 'self'" in headers["Content-Security-Policy"]
        and headers["X-Content-Type-Options"] == "nosniff"
    )
    assert (await get(s, f"{store.url}/assets/..%2Fsettings.py", None))[0] == 404


async def test_a_snapped_request_over_http_snaps_and_stays_exact(loaded):
    """A series of 32 chunks read in 4 buckets with snap=true: the answer says it snapped, and each
    bucket holds exactly the stats of the points between its first and last step (values are step/2)."""
    store, s, _ = loaded
    writer = await store.token(PROJECT, ["read", "write"])
    steps = range(10_000, 10_000 + 32 * 256)
    await post_batch(s, store.url, writer, request([floats("long", 600, steps)]))
    params = {"project": PROJECT, "run": RUN.run_key, "path": "long", "buckets": "4", "snap": "true"}
    status, _, body = await get(s, f"{store.url}/v1/series/buckets", writer, **params)
    assert status == 200
    (got,) = json.loads(body)
    assert got["snapped"] is True and got["raw"] is False
    assert got["first_step"][0] == steps[0] and got["step"][-1] == steps[-1]
    assert sum(got["count"]) == len(steps)
    for first, last, lo, hi, n, final in zip(
        got["first_step"], got["step"], got["min"], got["max"], got["count"], got["last"], strict=True
    ):
        assert n == last - first + 1  # consecutive steps: a bucket holds every step between its ends
        assert (lo, hi, final) == (first / 2, last / 2, last / 2)
    # the buckets tile the range
    assert all(b == a + 1 for a, b in zip(got["step"][:-1], got["first_step"][1:], strict=True))
