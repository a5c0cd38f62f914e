"""Every bad input gets a clear 4xx with an ErrorBody, and the store is left exactly as it was."""

from __future__ import annotations

import aiohttp
import msgspec
import pytest
import pytest_asyncio
from store_helpers import PROJECT, RUN, TIMEOUT, auth, encode, post_batch, post_raw, request, sha

from neptune_sync.wire import ops
from neptune_sync.wire.ops import Entry
from neptune_sync.wire.protocol import BatchRequest, RunInfo
from neptune_sync_store.context import CONTEXT
from neptune_sync_store.testing import running_store

pytestmark = pytest.mark.asyncio

RUN_MAP = {"project": PROJECT, "run_key": RUN.run_key, "run_id": RUN.run_id}
REF = ops.FileRef(sha(b"hello"), 5, "hello.txt", "txt")


def raw_batch(*entries) -> bytes:
    return msgspec.msgpack.encode({"run": RUN_MAP, "writer_id": "w1", "entries": list(entries)})


def one(op: ops.Op, run: RunInfo = RUN) -> bytes:
    return encode(request([Entry(10, 0.0, op)], run=run))


BAD_BATCHES = {
    "malformed msgpack": (b"\xc1\xff\x00garbage", "not valid msgpack"),
    "truncated msgpack": (one(ops.AssignInt("a", 1))[:-3], "not valid msgpack"),
    "unknown op tag": (raw_batch([10, 0.0, ["zz", "a", 1.0]]), "does not match the protocol"),
    "wrong value type": (raw_batch([10, 0.0, ["af", "a", "not a float"]]), "Expected `float`"),
    "wrong seq type": (raw_batch(["ten", 0.0, ["af", "a", 1.0]]), "Expected `int`"),
    "missing writer": (msgspec.msgpack.encode({"run": RUN_MAP, "entries": []}), "writer_id"),
    "traversal in file set": (
        one(ops.UploadFileSet("f", (ops.FileSetEntry("../../etc/passwd", REF),))),
        "must be relative",
    ),
    "absolute file set path": (
        one(ops.UploadFileSet("f", (ops.FileSetEntry("/etc/passwd", REF),))),
        "must be relative",
    ),
    "traversal in file name": (
        one(ops.AssignFile("f", ops.FileRef(REF.sha256, 5, "../../x", ""))),
        "plain name",
    ),
    "traversal in deleted path": (one(ops.DeleteFileSetFiles("f", ("a/../../b",))), "must be relative"),
    "bad sha256": (one(ops.AssignFile("f", ops.FileRef("../" * 21 + "x", 5, "x", ""))), "sha256"),
    "empty path segment": (one(ops.AssignInt("a//b", 1)), "empty segment"),
    "seq going back": (
        encode(request([Entry(10, 0.0, ops.AssignInt("a", 1)), Entry(9, 0.0, ops.AssignInt("b", 1))])),
        "not above",
    ),
    "bad run key": (one(ops.AssignInt("a", 1), run=RunInfo(PROJECT, "../k", "r")), "run_key"),
    "missing blob": (one(ops.AssignFile("f", ops.FileRef("0" * 64, 5, "x", ""))), "not uploaded"),
}


@pytest_asyncio.fixture
async def live(tmp_path):
    """A store holding one run, with a write token; yields (store, session, token, dump before)."""
    async with running_store(tmp_path, max_body=4096) as store, aiohttp.ClientSession() as session:
        token = await store.token(PROJECT)
        await post_batch(session, store.url, token, request([Entry(1, 0.0, ops.AssignInt("a", 1))]))
        yield store, session, token, await store.storage.dump()


@pytest.mark.parametrize("case", sorted(BAD_BATCHES))
async def test_bad_batch_is_refused_with_400_and_changes_nothing(live, case):
    store, session, token, before = live
    body, fragment = BAD_BATCHES[case]
    status, err, _ = await post_raw(session, store.url, token, body)
    assert status == (409 if case == "missing blob" else 400), err
    assert fragment in err["message"], err
    assert await store.storage.dump() == before


async def test_oversized_body_is_413_with_or_without_content_length(live):
    store, session, token, before = live
    big = encode(request([Entry(10, 0.0, ops.AssignString("a", "x" * 5000))]))
    status, err, _ = await post_raw(session, store.url, token, big)
    assert status == 413 and err["error"] == "too_large"

    async def chunked():
        for i in range(0, len(big), 1000):
            yield big[i : i + 1000]

    status, err, _ = await post_raw(session, store.url, token, chunked())
    assert status == 413 and "4096" in err["message"]
    assert await store.storage.dump() == before


@pytest.mark.parametrize(
    ("header", "status"),
    [
        (None, 401),
        ("Bearer", 401),
        ("Basic abc", 401),
        ("Bearer nss_unknown", 401),
        ("Bearer %%%not-base64", 401),
    ],
)
async def test_missing_or_bad_token_is_401(live, header, status):
    store, session, _, before = live
    headers = {"Authorization": header} if header else {}
    async with session.post(
        f"{store.url}/v1/batches", data=one(ops.AssignInt("b", 2)), headers=headers, timeout=TIMEOUT
    ) as resp:
        assert resp.status == status
        assert (await resp.json())["error"] == "unauthorized"
    assert await store.storage.dump() == before


async def test_token_of_another_project_or_without_write_scope_is_403(live):
    store, session, _, before = live
    other = await store.token("ws/other")
    reader = await store.token(PROJECT, ["read"])
    for token, fragment in ((other, "does not grant project 'ws/proj' (it grants ws/other)"), (reader, "lacks the 'write' scope")):
        status, err, _ = await post_raw(session, store.url, token, one(ops.AssignInt("b", 2)))
        assert status == 403 and fragment in err["message"]
    async with session.get(
        f"{store.url}/v1/run", params={"project": PROJECT, "run": RUN.run_id}, headers=auth(other)
    ) as resp:
        assert resp.status == 403
    assert await store.storage.dump() == before


@pytest.mark.parametrize("name", ["..%2F..%2Fetc%2Fpasswd", "ABC", "0" * 63, "g" * 64])
async def test_blob_names_that_are_not_sha256_are_refused(live, name):
    store, session, token, _ = live
    url = f"{store.url}/v1/blobs/{name}"
    headers = {**auth(token), "X-Blob-Size": "3"}
    async with session.put(url, data=b"abc", headers=headers, timeout=TIMEOUT) as resp:
        assert resp.status in (400, 404)
    async with session.get(url, headers=auth(token), timeout=TIMEOUT) as resp:
        assert resp.status in (400, 404)
    root = store.app[CONTEXT].blobs.root
    assert not root.exists() or [p for p in root.rglob("*") if p.is_file()] == []


async def test_unknown_route_and_method_answer_json_errors(live):
    store, session, token, _ = live
    async with session.get(f"{store.url}/v1/nope", headers=auth(token)) as resp:
        assert resp.status == 404 and (await resp.json())["error"] == "not_found"
    async with session.delete(f"{store.url}/v1/batches", headers=auth(token)) as resp:
        assert resp.status == 405 and (await resp.json())["error"] == "method_not_allowed"


async def test_a_valid_batch_still_works_after_all_that(live):
    store, session, token, _ = live
    resp = await post_batch(
        session, store.url, token, BatchRequest(RUN, "w1", [Entry(2, 0.0, ops.AssignInt("b", 2))])
    )
    assert resp.applied_seq == 2
