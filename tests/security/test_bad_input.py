"""Bad input on every name and body: traversal in each name, oversize, malformed bodies. Each is a
4xx with a message naming what is wrong, never a 5xx, and nothing is stored."""

from __future__ import annotations

import os
import re
from urllib.parse import quote

import aiohttp
import msgspec
import pytest
import pytest_asyncio
import yarl
from store_helpers import TIMEOUT, encode, floats, request, sha

from neptune_sync.wire.protocol import RunInfo
from neptune_sync_store.context import CONTEXT
from neptune_sync_store.testing import running_store

pytestmark = pytest.mark.asyncio

PROJECT = "team/proj"
KEY = re.compile(r"[A-Za-z0-9._:@+=-]+")
TRAVERSALS = ["..", "../etc", "..%2f..%2fetc", "%2e%2e", "a/../../b", "/etc/passwd", "a\\..\\b", "..\x00x"]


@pytest_asyncio.fixture
async def live(tmp_path):
    async with running_store(
        tmp_path / "store", max_body=64 << 10, max_blob=1 << 20, max_partial=1 << 20
    ) as store:
        token = await store.token(PROJECT)
        async with aiohttp.ClientSession() as s:
            yield store, s, {"Authorization": f"Bearer {token}"}


async def snapshot(store):
    blobs = store.app[CONTEXT].blobs
    return await store.storage.dump(), await blobs.shas(), await blobs.partials(), await store.storage.blob_owners()


async def refused(session, method, url, headers, **kw) -> tuple[int, str]:
    async with session.request(method, url, headers=headers, timeout=TIMEOUT, **kw) as resp:
        assert 400 <= resp.status < 500, (method, url, kw.get("params"), resp.status, await resp.read())
        if method == "HEAD":
            return resp.status, ""
        body = await resp.json()
        assert body["message"] and body["error"], body
        return resp.status, body["message"]


def read_routes(bad: str) -> list[tuple[str, dict]]:
    """Read endpoints with ``bad`` in each name they take, one at a time."""
    good = {"project": PROJECT, "run": "run-1", "path": "m", "member": "a.txt"}
    routes = {
        "/v1/run": ("project", "run"),
        "/v1/run/structure": ("project", "run"),
        "/v1/run/values": ("project", "run"),  # its paths filter: an unknown one selects nothing
        "/v1/run/series": ("project", "run", "path"),
        "/v1/run/file": ("project", "run", "path", "member"),
        "/v1/runs": ("project",),
        "/v1/project/fields": ("project",),
        "/v1/series/buckets": ("project",),  # its runs and paths filter: unknown ones select nothing
        "/v1/acked": ("project",),
    }
    out = []
    for route, names in routes.items():
        for name in names:
            params = {n: good[n] for n in names} | {name: bad}
            if route == "/v1/acked":
                params |= {"run_key": "run-1", "writer_id": "w1"}
            out.append((route, params))
    return out


@pytest.mark.parametrize("bad", TRAVERSALS)
async def test_traversal_in_every_name_is_refused_or_not_found(live, bad):
    store, s, headers = live
    body = encode(request([floats("m", 1, range(1, 3))], RunInfo(PROJECT, "run-1", "RUN-1")))
    async with s.post(f"{store.url}/v1/batches", data=body, headers=headers, timeout=TIMEOUT) as resp:
        assert resp.status == 200
    before = await snapshot(store)
    for route, params in read_routes(bad):
        await refused(s, "GET", store.url + route, headers, params=params)
    for method in ("HEAD", "GET", "PUT"):
        raw = yarl.URL(f"{store.url}/v1/blobs/{quote(bad, safe='%./')}", encoded=True)
        await refused(s, method, raw, {**headers, "X-Blob-Size": "1"}, data=b"x")
        digest = sha(b"x")
        await refused(
            s,
            method,
            f"{store.url}/v1/blobs/{digest}",
            {**headers, "X-Blob-Size": "1"},
            params={"project": bad},
            data=b"x",
        )
    raw = yarl.URL(f"{store.url}/assets/{quote(bad, safe='%./')}", encoded=True)
    async with s.get(raw, timeout=TIMEOUT) as resp:  # sent as is: no client-side normalisation
        text = await resp.text()
        assert resp.status < 500 and (resp.status >= 400 or text.lstrip().startswith("<!doctype html>"))
    # run keys and writer ids are database keys of [A-Za-z0-9._:@+=-], never file names: ".." is one
    for field in ("project", "run_key", "writer_id") if KEY.fullmatch(bad) is None else ("project",):
        run = RunInfo(bad if field == "project" else PROJECT, bad if field == "run_key" else "run-9", "RUN-9")
        req = request([floats("m", 1, range(1, 2))], run, writer=bad if field == "writer_id" else "w1")
        await refused(s, "POST", f"{store.url}/v1/batches", headers, data=encode(req))
    assert await snapshot(store) == before


async def test_oversize_bodies_blobs_and_partials_are_413_with_the_limit(live):
    store, s, headers = live
    before = await snapshot(store)
    status, message = await refused(s, "POST", f"{store.url}/v1/batches", headers, data=os.urandom(65 << 10))
    assert status == 413 and str(64 << 10) in message
    big = {**headers, "X-Blob-Size": str((1 << 20) + 1)}
    status, message = await refused(s, "PUT", f"{store.url}/v1/blobs/{'0' * 64}", big, data=b"x")
    assert status == 413 and str(1 << 20) in message
    huge = {**headers, "X-Blob-Size": "9" * 40}
    status, message = await refused(s, "PUT", f"{store.url}/v1/blobs/{'0' * 64}", huge, data=b"x")
    assert status == 400 and "X-Blob-Size" in message
    assert await snapshot(store) == before
    # the project's unfinished uploads are bounded: a second large partial does not fit beside the first
    first, second = os.urandom(700_000), os.urandom(700_000)
    part = {**headers, "X-Blob-Size": str(len(first))}
    async with s.put(f"{store.url}/v1/blobs/{sha(first)}", data=first[:600_000], headers=part) as resp:
        assert resp.status == 202
    status, message = await refused(s, "PUT", f"{store.url}/v1/blobs/{sha(second)}", part, data=second[:10])
    assert status == 413 and "unfinished uploads" in message and "team/proj" in message
    assert [p.sha256 for p in await store.app[CONTEXT].blobs.partials()] == [sha(first)]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\xc1",  # never valid msgpack
        os.urandom(256),
        msgspec.msgpack.encode({"run": 1}),
        msgspec.msgpack.encode([1, 2, 3]),
        msgspec.msgpack.encode({"run": {"project": PROJECT}, "writer_id": "w", "entries": "x"}),
        b"\x92" + b"\xff" * 20,
    ],
)
async def test_malformed_batch_bodies_are_400(live, body):
    store, s, headers = live
    before = await snapshot(store)
    status, message = await refused(s, "POST", f"{store.url}/v1/batches", headers, data=body)
    assert status == 400
    assert await snapshot(store) == before


async def test_malformed_blob_headers_and_offsets_are_4xx(live):
    store, s, headers = live
    data = os.urandom(100)
    url = f"{store.url}/v1/blobs/{sha(data)}"
    for extra in (
        {},
        {"X-Blob-Size": "-1"},
        {"X-Blob-Size": "1e3"},
        {"X-Blob-Size": "١٠٠"},
        {"X-Blob-Size": "100", "X-Upload-Offset": "101"},
        {"X-Blob-Size": "100", "X-Upload-Offset": "x"},
    ):
        await refused(s, "PUT", url, {**headers, **extra}, data=data)
    status, message = await refused(s, "PUT", url, {**headers, "X-Blob-Size": "50"}, data=data)
    assert status == 400 and "longer than the announced size" in message
    assert await store.app[CONTEXT].blobs.partials() == [] and await store.app[CONTEXT].blobs.shas() == []
