"""Blob upload: existence check, idempotent PUT, resumable upload, hash verification."""

from __future__ import annotations

import asyncio
import os

import aiohttp
import pytest
from store_helpers import PROJECT, TIMEOUT, auth, put_blob, sha, until

from neptune_sync_store.blobs import partial_owner
from neptune_sync_store.context import CONTEXT
from neptune_sync_store.testing import running_store

pytestmark = pytest.mark.asyncio


async def head(session, url, token, digest) -> tuple[int, dict]:
    async with session.head(f"{url}/v1/blobs/{digest}", headers=auth(token), timeout=TIMEOUT) as resp:
        return resp.status, dict(resp.headers)


async def put_part(session, url, token, digest, data, size, offset) -> tuple[int, dict]:
    headers = {**auth(token), "X-Blob-Size": str(size), "X-Upload-Offset": str(offset)}
    async with session.put(f"{url}/v1/blobs/{digest}", data=data, headers=headers, timeout=TIMEOUT) as resp:
        return resp.status, dict(resp.headers)


async def received_is(store, digest: str, count: int) -> bool:
    return await store.app[CONTEXT].blobs.received(digest, partial_owner(PROJECT)) == count


async def test_upload_then_exists_then_idempotent_and_downloadable(store):
    token = await store.token(PROJECT)
    data = os.urandom(3 << 20)
    async with aiohttp.ClientSession() as s:
        assert (await head(s, store.url, token, sha(data)))[0] == 404
        assert await put_blob(s, store.url, token, data) == 201
        status, headers = await head(s, store.url, token, sha(data))
        assert status == 200 and headers["X-Blob-Size"] == str(len(data))
        assert await put_blob(s, store.url, token, data) == 200
        async with s.get(f"{store.url}/v1/blobs/{sha(data)}", headers=auth(token), timeout=TIMEOUT) as resp:
            assert resp.status == 200 and await resp.read() == data


async def test_upload_resumes_from_the_offset_the_store_reports(store):
    token = await store.token(PROJECT)
    data = os.urandom(1 << 20)
    digest = sha(data)
    async with aiohttp.ClientSession() as s:
        status, headers = await put_part(s, store.url, token, digest, data[:300_000], len(data), 0)
        assert status == 202 and headers["X-Upload-Offset"] == "300000"
        status, headers = await head(s, store.url, token, digest)
        assert status == 404 and headers["X-Upload-Offset"] == "300000"
        status, headers = await put_part(s, store.url, token, digest, data[100:200], len(data), 100)
        assert status == 409 and headers["X-Upload-Offset"] == "300000"
        status, _ = await put_part(s, store.url, token, digest, data[300_000:], len(data), 300_000)
        assert status == 201
        assert (await head(s, store.url, token, digest))[0] == 200


async def test_content_that_does_not_match_its_name_is_refused_and_dropped(store):
    token = await store.token(PROJECT)
    async with aiohttp.ClientSession() as s:
        status, _ = await put_part(s, store.url, token, sha(b"right"), b"wrong", 5, 0)
        assert status == 422
        status, headers = await head(s, store.url, token, sha(b"right"))
        assert status == 404 and headers["X-Upload-Offset"] == "0"
        status, _ = await put_part(s, store.url, token, sha(b"right"), b"right and more", 5, 0)
        assert status == 400
        assert (await head(s, store.url, token, sha(b"right")))[1]["X-Upload-Offset"] == "0"


async def test_blob_upload_needs_write_scope_and_a_size(store):
    reader = await store.token(PROJECT, ["read"])
    writer = await store.token(PROJECT, ["write"])
    async with aiohttp.ClientSession() as s:
        assert await put_blob(s, store.url, reader, b"x") == 403
        async with s.put(
            f"{store.url}/v1/blobs/{sha(b'x')}", data=b"x", headers=auth(writer), timeout=TIMEOUT
        ) as resp:
            assert resp.status == 400 and "X-Blob-Size" in (await resp.json())["message"]
        async with s.get(f"{store.url}/v1/blobs/{sha(b'x')}", headers=auth(writer), timeout=TIMEOUT) as resp:
            assert resp.status == 403
        async with s.head(f"{store.url}/v1/blobs/{sha(b'x')}", timeout=TIMEOUT) as resp:
            assert resp.status == 401


async def test_uploads_over_the_limit_get_429_then_resume(tmp_path):
    async with running_store(tmp_path, max_inflight=1) as store, aiohttp.ClientSession() as s:
        token = await store.token(PROJECT)
        data = os.urandom(100_000)
        release = asyncio.Event()

        async def slow_body():
            yield data[:1000]
            await asyncio.wait_for(release.wait(), 10)
            yield data[1000:]

        holder = asyncio.create_task(put_part(s, store.url, token, sha(data), slow_body(), len(data), 0))
        slots = store.app[CONTEXT].upload_slots
        await asyncio.wait_for(until(lambda: slots.in_use == 1), 10)  # the slow upload holds the only slot
        status, headers = await put_part(s, store.url, token, sha(b"other"), b"other", 5, 0)
        assert status == 429 and headers["Retry-After"] == "1"
        release.set()
        assert (await asyncio.wait_for(holder, 10))[0] == 201
        assert (await put_part(s, store.url, token, sha(b"other"), b"other", 5, 0))[0] == 201


class UploaderDied(Exception):
    """Raised by an upload body after its last byte: the connection drops before the upload ends."""


async def cut_after_last_byte(session, url, token, digest, data) -> None:
    """Upload every byte of ``data`` (chunked), then drop the connection as a dying uploader does."""

    async def body():
        yield data
        await asyncio.sleep(0.1)  # let the store write the bytes
        raise UploaderDied

    with pytest.raises(aiohttp.ClientError):
        await put_part(session, url, token, digest, body(), len(data), 0)


async def test_an_upload_cut_after_its_last_byte_is_committed_by_an_empty_put(store):
    token = await store.token(PROJECT)
    data = os.urandom(200_000)
    async with aiohttp.ClientSession() as s:
        await cut_after_last_byte(s, store.url, token, sha(data), data)
        await asyncio.wait_for(until(lambda: received_is(store, sha(data), len(data))), 10)
        status, headers = await head(s, store.url, token, sha(data))
        assert status == 404 and headers["X-Upload-Offset"] == str(len(data))  # every byte, not committed
        status, headers = await put_part(s, store.url, token, sha(data), b"", len(data), len(data))
        assert status == 201 and headers["X-Upload-Offset"] == str(len(data))
        assert (await head(s, store.url, token, sha(data)))[0] == 200
        async with s.get(f"{store.url}/v1/blobs/{sha(data)}", headers=auth(token), timeout=TIMEOUT) as resp:
            assert await resp.read() == data


async def test_a_full_partial_with_the_wrong_content_is_refused_and_dropped_on_commit(store):
    token = await store.token(PROJECT)
    right, wrong = b"right content", b"wrong content"
    async with aiohttp.ClientSession() as s:
        await cut_after_last_byte(s, store.url, token, sha(right), wrong)
        await asyncio.wait_for(until(lambda: received_is(store, sha(right), len(wrong))), 10)
        status, _ = await put_part(s, store.url, token, sha(right), b"", len(right), len(right))
        assert status == 422
        status, headers = await head(s, store.url, token, sha(right))
        assert status == 404 and headers["X-Upload-Offset"] == "0"


async def test_an_empty_blob_is_committed_by_one_empty_put(store):
    token = await store.token(PROJECT)
    async with aiohttp.ClientSession() as s:
        status, headers = await put_part(s, store.url, token, sha(b""), b"", 0, 0)
        assert status == 201 and headers["X-Upload-Offset"] == "0"
        status, headers = await head(s, store.url, token, sha(b""))
        assert status == 200 and headers["X-Blob-Size"] == "0"
        async with s.get(f"{store.url}/v1/blobs/{sha(b'')}", headers=auth(token), timeout=TIMEOUT) as resp:
            assert resp.status == 200 and await resp.read() == b""
        assert (await put_part(s, store.url, token, sha(b""), b"", 0, 0))[0] == 200


async def test_an_offset_beyond_the_size_is_refused(store):
    token = await store.token(PROJECT)
    async with aiohttp.ClientSession() as s:
        status, _ = await put_part(s, store.url, token, sha(b"abc"), b"", 3, 4)
        assert status == 400
        assert (await head(s, store.url, token, sha(b"abc")))[1]["X-Upload-Offset"] == "0"


async def test_a_partial_longer_than_the_blob_is_restarted_from_zero(store):
    token = await store.token(PROJECT)
    data = b"short"
    async with aiohttp.ClientSession() as s:
        status, _ = await put_part(s, store.url, token, sha(data), b"0123456789", 100, 0)
        assert status == 202  # a bad uploader announced 100 bytes
        assert (await head(s, store.url, token, sha(data)))[1]["X-Upload-Offset"] == "10"
        status, headers = await put_part(s, store.url, token, sha(data), data, len(data), 0)
        assert status == 201, headers
        assert (await head(s, store.url, token, sha(data)))[0] == 200
