"""The blob backend contract (neptune_sync_store/blob_backends/__init__.py), one suite run on the local
directory backend and on the S3 backend against a real S3 API server (SeaweedFS) on loopback.

The model is the bytes themselves and hashlib: a blob is visible exactly when its whole content was
received and hashes to its name, and then reads back byte for byte.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest
import pytest_asyncio

from neptune_sync_store.blob_backends import make_blob_backend
from neptune_sync_store.blob_backends.s3 import part_size
from neptune_sync_store.errors import Conflict, NotFound, RequestError, Unprocessable

pytestmark = pytest.mark.asyncio
MIB = 1 << 20


class Cut(Exception):
    """The uploader went away mid-request."""


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def chunks(data: bytes, piece: int = 300_000, *, cut_after: int | None = None):
    """``data`` in pieces; with ``cut_after``, the request dies after that many bytes."""
    sent = 0
    for i in range(0, len(data), piece):
        block = data[i : i + piece]
        if cut_after is not None and sent + len(block) > cut_after:
            yield block[: cut_after - sent]
            raise Cut
        sent += len(block)
        yield block
    if cut_after is not None:
        raise Cut


async def read_all(backend, digest: str) -> bytes:
    return b"".join([c async for c in backend.read(digest)])


@pytest.fixture(params=["local", "s3"])
def location(request, tmp_path, monkeypatch):
    """A fresh blob location: a directory, or a fresh prefix of the S3 server's bucket."""
    if request.param == "local":
        return str(tmp_path / "blobs")
    server = request.getfixturevalue("s3_server")
    for name, value in server.env.items():
        monkeypatch.setenv(name, value)
    return server.location(f"t-{uuid.uuid4().hex}")


@pytest_asyncio.fixture
async def backend(location):
    b = make_blob_backend(location, presign_seconds=60)
    await b.open()
    yield b
    await b.close()


@pytest_asyncio.fixture
async def other_process(location):
    """A second backend over the same location: what another store process sees."""
    b = make_blob_backend(location)
    await b.open()
    yield b
    await b.close()


def sizes_for(backend) -> list[int]:
    """Sizes crossing the backend's unit of resumption: one byte, one part, several parts."""
    return [1, 5000, part_size(1) + 123] if hasattr(backend, "bucket") else [1, 5000, 2 * MIB + 7]


async def test_a_blob_is_visible_once_received_whole_and_reads_back(backend):
    for size in sizes_for(backend):
        data = os.urandom(size)
        assert await backend.size(sha(data)) is None
        assert await backend.receive(sha(data), size, 0, chunks(data)) == size
        assert await backend.size(sha(data)) == size
        assert await read_all(backend, sha(data)) == data
        assert await backend.received(sha(data)) == 0
    assert await backend.partials() == []


async def test_an_empty_blob_is_committed_by_one_empty_receive(backend):
    assert await backend.receive(sha(b""), 0, 0, chunks(b"")) == 0
    assert await backend.size(sha(b"")) == 0 and await read_all(backend, sha(b"")) == b""


async def test_cut_uploads_resume_from_what_the_backend_holds_even_through_another_process(
    backend, other_process
):
    data = os.urandom(2 * part_size(1) + 3 * MIB + 11)
    digest, held = sha(data), 0
    cuts = [5 * MIB, part_size(1) + MIB, 2 * part_size(1) + 100, len(data)]
    for n, cut in enumerate(cuts):
        target = backend if n % 2 == 0 else other_process
        assert await target.received(digest) == held
        with pytest.raises(Cut):
            await target.receive(digest, len(data), held, chunks(data[held:], cut_after=cut - held))
        now = await other_process.received(digest)
        assert held <= now <= cut  # never more than was sent, never less than was held
        held = now
        assert await backend.size(digest) is None  # nothing visible before it is whole and verified
    [partial] = await backend.partials()
    assert (partial.sha256, partial.received) == (digest, held)
    assert await other_process.receive(digest, len(data), held, chunks(data[held:])) == len(data)
    assert await backend.size(digest) == len(data) and await read_all(backend, digest) == data
    assert await backend.partials() == []


async def test_a_wrong_offset_is_a_conflict_naming_the_right_one(backend):
    data = os.urandom(part_size(1) + MIB)
    with pytest.raises(Cut):
        await backend.receive(sha(data), len(data), 0, chunks(data, cut_after=part_size(1) + 10))
    held = await backend.received(sha(data))
    with pytest.raises(Conflict) as caught:
        await backend.receive(sha(data), len(data), held + 1, chunks(b"x"))
    assert caught.value.headers == {"X-Upload-Offset": str(held)}


@pytest.mark.parametrize("resumed", [False, True])
async def test_content_that_does_not_hash_to_its_name_is_refused_and_dropped(backend, resumed):
    for size in sizes_for(backend):
        right = os.urandom(size)
        wrong = bytearray(right)
        wrong[-1] ^= 1
        digest, held = sha(right), 0
        if resumed:
            with pytest.raises(Cut):
                await backend.receive(digest, size, 0, chunks(bytes(wrong), cut_after=size - 1))
            held = await backend.received(digest)
        with pytest.raises(Unprocessable):
            await backend.receive(digest, size, held, chunks(bytes(wrong[held:])))
        assert await backend.size(digest) is None
        assert await backend.received(digest) == 0
        with pytest.raises(NotFound):
            await read_all(backend, digest)
    assert await backend.partials() == []


async def test_more_bytes_than_announced_are_refused_and_nothing_is_held(backend):
    for size in sizes_for(backend):
        data = os.urandom(size + 1)
        with pytest.raises(RequestError):
            await backend.receive(sha(data[:size]), size, 0, chunks(data))
        assert await backend.received(sha(data[:size])) == 0
        assert await backend.size(sha(data[:size])) is None


async def test_delete_and_drop_partial_remove_what_a_collector_names(backend, other_process):
    kept, dropped = os.urandom(1000), os.urandom(part_size(1) + MIB)
    await backend.receive(sha(kept), len(kept), 0, chunks(kept))
    with pytest.raises(Cut):
        await backend.receive(sha(dropped), len(dropped), 0, chunks(dropped, cut_after=part_size(1) + 1))
    assert [p.sha256 for p in await other_process.partials()] == [sha(dropped)]
    await other_process.drop_partial(sha(dropped))
    assert await backend.partials() == [] and await backend.received(sha(dropped)) == 0
    assert await other_process.delete(sha(kept)) is True
    assert await backend.size(sha(kept)) is None and await backend.delete(sha(kept)) is False


async def test_names_that_are_not_sha256_never_reach_storage(backend):
    for name in ("../" + "0" * 61, "A" * 64, "0" * 63):
        with pytest.raises(RequestError):
            await backend.size(name)
        with pytest.raises(RequestError):
            await backend.receive(name, 1, 0, chunks(b"x"))


async def test_concurrent_uploads_of_one_blob_through_two_processes_commit_it_once(backend, other_process):
    data = os.urandom(part_size(1) + 2 * MIB)
    results = await asyncio.gather(
        backend.receive(sha(data), len(data), 0, chunks(data)),
        other_process.receive(sha(data), len(data), 0, chunks(data)),
        return_exceptions=True,
    )
    assert any(r == len(data) for r in results)
    assert all(r == len(data) or isinstance(r, Conflict) for r in results), results
    assert await read_all(other_process, sha(data)) == data
    assert await backend.partials() == []


# --- owners: one uploader never sees, resumes or drops another's progress ---

A, B = "a1" * 8, "b2" * 8


async def test_owners_uploads_are_separate_and_each_resumes_its_own(backend, other_process):
    data = os.urandom(part_size(1) + 3 * MIB)
    digest, cut = sha(data), part_size(1) + MIB
    with pytest.raises(Cut):
        await backend.receive(digest, len(data), 0, chunks(data, cut_after=cut), A)
    held_a = await other_process.received(digest, A)
    assert 0 < held_a <= cut
    assert await other_process.received(digest, B) == 0 and await other_process.received(digest) == 0
    with pytest.raises(Conflict) as caught:  # B cannot continue A's upload
        await other_process.receive(digest, len(data), held_a, chunks(data[held_a:]), B)
    assert caught.value.headers == {"X-Upload-Offset": "0"}
    assert [(p.owner, p.sha256, p.received) for p in await backend.partials()] == [(A, digest, held_a)]
    assert await backend.partials(B) == [] and [p.sha256 for p in await backend.partials(A)] == [digest]
    await other_process.drop_partial(digest, B)  # another owner's drop leaves A's upload alone
    await other_process.drop_partial(digest)
    assert await backend.received(digest, A) == held_a
    assert await other_process.receive(digest, len(data), 0, chunks(data), B) == len(data)
    assert await backend.received(digest, A) == held_a  # B's commit leaves A's upload alone
    assert await backend.receive(digest, len(data), held_a, chunks(data[held_a:]), A) == len(data)
    assert await read_all(backend, digest) == data and await backend.partials() == []


async def test_an_owners_upload_of_content_held_already_still_takes_and_verifies_every_byte(backend):
    for size in sizes_for(backend):
        data = os.urandom(size)
        assert await backend.receive(sha(data), size, 0, chunks(data), A) == size
        assert await backend.received(sha(data), B) == 0  # no shortcut: B starts at 0
        wrong = bytearray(data)
        wrong[0] ^= 1
        with pytest.raises(Unprocessable):
            await backend.receive(sha(data), size, 0, chunks(bytes(wrong)), B)
        if size > 1:  # cut short: B holds at most what it sent, and nothing says "done"
            with pytest.raises(Cut):
                await backend.receive(sha(data), size, 0, chunks(data, cut_after=size - 1), B)
            assert await backend.received(sha(data), B) < size
            await backend.drop_partial(sha(data), B)
        assert await backend.receive(sha(data), size, 0, chunks(data), B) == size
        assert await read_all(backend, sha(data)) == data  # the content held is unchanged
    assert await backend.partials() == []


async def test_shas_lists_exactly_the_committed_blobs(backend, other_process):
    blobs = [os.urandom(n) for n in (0, 10, 5000)]
    partial = os.urandom(part_size(1) + MIB)
    for data in blobs:
        await backend.receive(sha(data), len(data), 0, chunks(data), A)
    with pytest.raises(Cut):
        await backend.receive(sha(partial), len(partial), 0, chunks(partial, cut_after=part_size(1) + 1), A)
    assert await other_process.shas() == sorted(sha(d) for d in blobs)
    await other_process.delete(sha(blobs[1]))
    assert await backend.shas() == sorted(sha(d) for d in (blobs[0], blobs[2]))


async def test_owner_names_that_are_not_lowercase_hex_never_reach_storage(backend):
    for owner in ("../x", "AB", "a/b"):
        with pytest.raises(ValueError):
            await backend.received("0" * 64, owner)


# --- S3 only: presigned downloads and the server's own digest checks ---


@pytest.fixture
def s3_backend(backend):
    if not hasattr(backend, "bucket"):
        pytest.skip("S3 backend only")
    return backend


async def test_a_presigned_url_serves_the_blob_and_a_tampered_one_is_refused(s3_backend):
    data = os.urandom(4000)
    await s3_backend.receive(sha(data), len(data), 0, chunks(data))
    url = await s3_backend.download_url(sha(data), "model weights.bin")
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.read() == data
        assert "attachment" in resp.headers["Content-Disposition"]
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query)
    query["response-content-disposition"] = ["inline"]
    tampered = parts._replace(query=urllib.parse.urlencode(query, doseq=True)).geturl()
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(tampered, timeout=10)
    caught.value.close()
    assert caught.value.code == 403


async def test_the_server_refuses_a_part_whose_bytes_do_not_match_its_sha256(s3_backend):
    """The per-part digest the backend sends is checked by the server, not only carried."""
    client, key = s3_backend.client, f"{s3_backend.prefix}probe"
    upload = await client.create_multipart_upload(Bucket=s3_backend.bucket, Key=key)
    bad = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    try:
        with pytest.raises(Exception) as caught:
            await client.upload_part(
                Bucket=s3_backend.bucket,
                Key=key,
                UploadId=upload["UploadId"],
                PartNumber=1,
                Body=b"content",
                ChecksumSHA256=bad,
            )
        assert "BadDigest" in str(caught.value) or "Checksum" in str(caught.value)
    finally:
        await client.abort_multipart_upload(Bucket=s3_backend.bucket, Key=key, UploadId=upload["UploadId"])
