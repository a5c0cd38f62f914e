"""Blobs are deduplicated by content but scoped by project: a token sees a blob only once its
project uploaded the content, and no response (HEAD, GET, PUT, a run's file) tells whether content
exists in another project. Each probe is compared with the same probe for content that exists
nowhere: the two answers must be identical but for the name."""

from __future__ import annotations

import os

import aiohttp
import pytest
from store_helpers import TIMEOUT, auth, encode, request, sha

from neptune_sync.wire import ops
from neptune_sync.wire.ops import Entry
from neptune_sync.wire.protocol import RunInfo
from neptune_sync_store.context import CONTEXT

pytestmark = pytest.mark.asyncio

A, B = "team/alpha", "team/beta"


async def call(session, method, url, token, digest, project=None, data=None, size=None, offset=None):
    headers = auth(token)
    if size is not None:
        headers["X-Blob-Size"] = str(size)
    if offset is not None:
        headers["X-Upload-Offset"] = str(offset)
    params = {"project": project} if project else {}
    async with session.request(
        method, f"{url}/v1/blobs/{digest}", params=params, data=data, headers=headers, timeout=TIMEOUT
    ) as resp:
        body = await resp.read()
        kept = {k: v for k, v in resp.headers.items() if k not in ("Date", "Content-Length")}
        return resp.status, kept, body.replace(digest.encode(), b"<sha>")


async def upload(session, url, token, data, project=None):
    return (await call(session, "PUT", url, token, sha(data), project, data, len(data), 0))[0]


async def test_a_blob_of_one_project_is_invisible_to_another(store):
    a, b = await store.token(A), await store.token(B)
    secret, absent = os.urandom(5000), os.urandom(5000)
    async with aiohttp.ClientSession() as s:
        assert await upload(s, store.url, a, secret) == 201
        assert (await call(s, "HEAD", store.url, a, sha(secret)))[0] == 200
        for method in ("HEAD", "GET"):
            there = await call(s, method, store.url, b, sha(secret))
            nowhere = await call(s, method, store.url, b, sha(absent))
            assert there == nowhere and there[0] == 404, method  # not even a header differs
        # a write-only token of B cannot probe either
        writer = await store.token(B, ["write"])
        assert await call(s, "HEAD", store.url, writer, sha(secret)) == await call(
            s, "HEAD", store.url, writer, sha(absent)
        )


async def test_the_upload_path_does_not_reveal_content_held_elsewhere(store):
    a, b = await store.token(A), await store.token(B)
    secret, absent = os.urandom(6000), os.urandom(6000)
    async with aiohttp.ClientSession() as s:
        assert await upload(s, store.url, a, secret) == 201
        # B announces the content and sends part of it: the same answer as for unknown content
        there = await call(s, "PUT", store.url, b, sha(secret), None, secret[:100], len(secret), 0)
        nowhere = await call(s, "PUT", store.url, b, sha(absent), None, absent[:100], len(absent), 0)
        assert there == nowhere and there[0] == 202
        # an empty "commit" at the full size is refused the same way too
        there = await call(s, "PUT", store.url, b, sha(secret), None, b"", len(secret), len(secret))
        nowhere = await call(s, "PUT", store.url, b, sha(absent), None, b"", len(absent), len(absent))
        assert there[0] == nowhere[0] == 409 and there == nowhere
        # the wrong bytes under the secret's name are refused: possession is proven by content
        wrong = os.urandom(len(secret) - 100)
        status = (await call(s, "PUT", store.url, b, sha(secret), None, wrong, len(secret), 100))[0]
        assert status == 422
        assert (await call(s, "HEAD", store.url, b, sha(secret)))[0] == 404
        # the whole content proves possession: B holds it from then on, A still does
        assert await upload(s, store.url, b, secret) == 201
        status, _, body = await call(s, "GET", store.url, b, sha(secret))
        assert status == 200 and body == secret
        assert (await call(s, "GET", store.url, a, sha(secret)))[0] == 200
    assert (await store.app[CONTEXT].blobs.shas()).count(sha(secret)) == 1  # stored once


async def test_upload_progress_is_not_shared_between_projects(store):
    a, b = await store.token(A), await store.token(B)
    data = os.urandom(10_000)
    async with aiohttp.ClientSession() as s:
        assert (await call(s, "PUT", store.url, a, sha(data), None, data[:4000], len(data), 0))[0] == 202
        status, headers, _ = await call(s, "HEAD", store.url, b, sha(data))
        assert status == 404 and headers["X-Upload-Offset"] == "0"
        status, headers, _ = await call(s, "HEAD", store.url, a, sha(data))
        assert status == 404 and headers["X-Upload-Offset"] == "4000"
        # B's own upload starts from 0 and does not disturb A's
        assert (await call(s, "PUT", store.url, b, sha(data), None, data[:1000], len(data), 0))[0] == 202
        assert (await call(s, "HEAD", store.url, a, sha(data)))[1]["X-Upload-Offset"] == "4000"
        assert (await call(s, "PUT", store.url, a, sha(data), None, data[4000:], len(data), 4000))[0] == 201
        status, headers, _ = await call(s, "HEAD", store.url, b, sha(data))
        assert status == 404 and headers["X-Upload-Offset"] == "1000"  # A's commit gives B nothing


async def test_a_run_cannot_reference_its_way_to_another_projects_blob(store):
    """A batch of B naming A's content (a forged reference) is refused exactly as one naming content
    that exists nowhere: as not uploaded (no oracle), and B gets no way to read it."""
    a, b = await store.token(A), await store.token(B)
    secret, absent = os.urandom(3000), os.urandom(3000)
    run = RunInfo(B, "thief", "THIEF-1")
    async with aiohttp.ClientSession() as s:
        assert await upload(s, store.url, a, secret) == 201
        answers = []
        for content in (secret, absent):
            ref = ops.FileRef(sha(content), len(content) + 1, "stolen.bin", "bin")  # a wrong size, too
            body = encode(request([Entry(1, 1.0, ops.AssignFile("files/x", ref))], run))
            headers = {**auth(b), "Content-Type": "application/msgpack"}
            async with s.post(f"{store.url}/v1/batches", data=body, headers=headers, timeout=TIMEOUT) as resp:
                message = (await resp.json())["message"].replace(sha(content), "<sha>")
                answers.append((resp.status, message))
        assert answers[0] == answers[1] and answers[0][0] == 409, answers
        assert (await call(s, "GET", store.url, b, sha(secret)))[0] == 404
    assert await store.storage.find_run(B, "thief") is None  # nothing stored


async def test_a_token_granting_several_projects_names_the_project(store):
    both = await store.token([A, B])
    data = os.urandom(100)
    async with aiohttp.ClientSession() as s:
        status, _, body = await call(s, "HEAD", store.url, both, sha(data))
        assert status == 400  # which project? the token grants two
        status, _, body = await call(s, "PUT", store.url, both, sha(data), None, data, len(data), 0)
        assert status == 400 and b"query parameter 'project' is required" in body
        assert await upload(s, store.url, both, data, project=A) == 201
        assert (await call(s, "HEAD", store.url, both, sha(data), A))[0] == 200
        assert (await call(s, "HEAD", store.url, both, sha(data), B))[0] == 404
        status, _, body = await call(s, "HEAD", store.url, both, sha(data), "team/gamma")
        assert status == 403
