"""Blobs in a bucket of S3-compatible object storage (aiobotocore), shared by every store process.

Keys under the location's prefix:

- ``blobs/<aa>/<sha256>``: committed content, hashed to its name before it got this key.
- ``partials/[<owner>/]<sha256>/<size>/<nonce>``: the multipart upload of an owner's upload in
  progress (found by listing, its bytes held by listing its parts), so any store process can
  resume it; the oldest one of an owner's blob is the one resumed. An owner's uploads are under
  its own key prefix, so no owner lists, resumes or aborts another's.

Part ``n`` holds bytes ``[(n-1)*P, n*P)`` with ``P = part_size(size)``, which every process derives
from the announced size; only whole parts are kept, so ``receive`` answers a multiple of ``P``
(the bytes of an unfinished last part are dropped and sent again). Every part carries its sha256,
which the server checks. A blob that fits one part and arrives whole is put directly under its
final key with its sha256, after the store hashed it. A larger one is completed under its
``partials/`` key, hashed (while it streamed in if it arrived in one request, else by reading it
back), then copied server-side under its final key: nothing reaches ``blobs/`` unverified.
"""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from ..errors import Conflict, NotFound, RequestError, Unprocessable
from ..validation import is_sha256
from . import BlobBackend, Partial, check_name, check_owner

MIB = 1 << 20
PART_MIN = 8 * MIB
MAX_PARTS = 10_000  # S3's limit on parts of one upload
COPY_MAX = 5 << 30  # CopyObject's limit; larger blobs are copied part by part
READ_CHUNK = MIB
_MISSING = ("404", "NoSuchKey", "NotFound")
_BAD_DIGEST = ("BadDigest", "XAmzContentChecksumMismatch", "InvalidDigest")


def part_size(size: int) -> int:
    """Bytes per part of a ``size``-byte upload: 8 MiB, or whole MiBs so as to need <= 10,000 parts."""
    needed = -(-size // MAX_PARTS)
    return max(PART_MIN, -(-needed // MIB) * MIB)


def b64_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


class S3BlobBackend(BlobBackend):
    def __init__(
        self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None, presign_seconds: int = 0
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url
        self.presign_seconds = presign_seconds
        self._stack = AsyncExitStack()
        self._client: Any = None

    @classmethod
    def from_url(cls, url: str, *, presign_seconds: int = 0) -> S3BlobBackend:
        """``s3://bucket[/prefix]``; the endpoint comes from ``$AWS_ENDPOINT_URL`` (AWS if unset)."""
        parts = urlsplit(url)
        if not parts.netloc:
            raise ValueError(f"blob location {url!r} names no bucket: use s3://bucket[/prefix]")
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        return cls(parts.netloc, parts.path, endpoint_url=endpoint, presign_seconds=presign_seconds)

    async def open(self) -> None:
        config = AioConfig(
            # path-style addressing for self-hosted servers (MinIO, SeaweedFS, Ceph) at an endpoint
            s3={"addressing_style": "path" if self.endpoint_url else "auto"},
            # checksums only where this module sends them (each part's sha256): some S3-compatible
            # servers refuse the trailing checksums botocore would otherwise add
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            signature_version="s3v4",  # presigned URLs included (botocore would presign with v2)
            max_pool_connections=64,
            retries={"max_attempts": 5, "mode": "standard"},
        )
        session = get_session()
        region = session.get_config_variable("region") or "us-east-1"
        self._client = await self._stack.enter_async_context(
            session.create_client("s3", endpoint_url=self.endpoint_url, region_name=region, config=config)
        )

    async def close(self) -> None:
        await self._stack.aclose()
        self._client = None

    @property
    def client(self) -> Any:
        assert self._client is not None, "blob backend is not open"
        return self._client

    def _final(self, sha256: str) -> str:
        return f"{self.prefix}blobs/{check_name(sha256)[:2]}/{sha256}"

    def _partials_of(self, owner: str) -> str:
        return f"{self.prefix}partials/{check_owner(owner)}/" if owner else f"{self.prefix}partials/"

    def _staging(self, sha256: str, size: int, owner: str) -> str:
        """A new upload's key: unique, so that uploads racing through two processes never
        complete or delete each other's object."""
        return f"{self._partials_of(owner)}{sha256}/{size}/{uuid.uuid4().hex}"

    # --- committed blobs ---

    async def size(self, sha256: str) -> int | None:
        try:
            head = await self.client.head_object(Bucket=self.bucket, Key=self._final(sha256))
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise
        return int(head["ContentLength"])

    async def read(self, sha256: str) -> AsyncIterator[bytes]:
        async for chunk in self._read_key(self._final(sha256), sha256):
            yield chunk

    async def _read_key(self, key: str, sha256: str) -> AsyncIterator[bytes]:
        try:
            got = await self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise NotFound(f"no blob {sha256}") from None
            raise
        async with got["Body"] as body:
            async for chunk in body.iter_chunks(READ_CHUNK):
                yield chunk

    async def download_url(self, sha256: str, filename: str) -> str | None:
        if self.presign_seconds <= 0:
            return None
        return await self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self._final(sha256),
                "ResponseContentType": "application/octet-stream",
                "ResponseContentDisposition": f"attachment; filename*=UTF-8''{quote(filename, safe='')}",
            },
            ExpiresIn=self.presign_seconds,
        )

    async def delete(self, sha256: str) -> bool:
        if await self.size(sha256) is None:
            return False
        await self.client.delete_object(Bucket=self.bucket, Key=self._final(sha256))
        return True

    # --- uploads ---

    async def _uploads(self, prefix: str) -> list[_Upload]:
        """The multipart uploads under ``prefix``, oldest first."""
        found = []
        top = len(f"{self.prefix}partials/")
        paginator = self.client.get_paginator("list_multipart_uploads")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for up in page.get("Uploads", []):
                names = up["Key"][top:].split("/")
                owner, (sha256, size, _) = ("", names) if len(names) == 3 else (names[0], names[1:])
                if size.isdigit() and len(names) in (3, 4):
                    found.append(
                        _Upload(up["Key"], sha256, int(size), up["UploadId"], up["Initiated"], owner)
                    )
        return sorted(found, key=lambda u: (u.initiated, u.upload_id))

    def _uploads_of(self, sha256: str, owner: str) -> Any:
        return self._uploads(f"{self._partials_of(owner)}{check_name(sha256)}/")

    async def _parts(self, key: str, upload_id: str) -> list[dict[str, Any]]:
        parts = []
        paginator = self.client.get_paginator("list_parts")
        async for page in paginator.paginate(Bucket=self.bucket, Key=key, UploadId=upload_id):
            parts.extend(page.get("Parts", []))
        return sorted(parts, key=lambda p: p["PartNumber"])

    @staticmethod
    def _held(parts: list[dict[str, Any]], size: int) -> int:
        """Bytes of the contiguous whole parts from part 1 (every byte once the last is there too)."""
        step, have = part_size(size), 0
        for n, part in enumerate(parts, start=1):
            if part["PartNumber"] != n or part["Size"] != min(step, size - have):
                break
            have += part["Size"]
        return have

    async def _current(self, sha256: str, size: int, owner: str) -> tuple[_Upload | None, int]:
        """``owner``'s oldest upload of ``sha256`` announced at ``size`` and the bytes it holds."""
        for up in await self._uploads_of(sha256, owner):
            if up.size == size:
                return up, self._held(await self._parts(up.key, up.upload_id), size)
        return None, 0

    async def received(self, sha256: str, owner: str = "") -> int:
        uploads = await self._uploads_of(sha256, owner)
        if not uploads:
            return 0
        up = uploads[0]
        return self._held(await self._parts(up.key, up.upload_id), up.size)

    async def receive(
        self, sha256: str, size: int, offset: int, chunks: AsyncIterator[bytes], owner: str = ""
    ) -> int:
        check_name(sha256)
        if offset > size:
            raise RequestError(f"upload offset {offset} is beyond the announced size {size}")
        if not owner and await self.size(sha256) is not None:
            return size  # an owner's upload takes every byte: it must not learn what others hold
        upload, have = await self._current(sha256, size, owner)
        if offset != have:
            raise Conflict(
                f"upload offset {offset} does not match the {have} bytes received",
                headers={"X-Upload-Offset": str(have)},
            )
        if have == 0 and size <= part_size(size):
            return await self._put_whole(sha256, size, chunks)
        try:
            return await self._receive_parts(sha256, size, upload, have, chunks, owner)
        except ClientError as exc:
            if _code(exc) != "NoSuchUpload":
                raise
            if not owner and await self.size(sha256) == size:  # another process committed it meanwhile
                return size
            raise Conflict(f"another upload of {sha256} took over this one; retry") from None

    async def _receive_parts(
        self,
        sha256: str,
        size: int,
        upload: _Upload | None,
        have: int,
        chunks: AsyncIterator[bytes],
        owner: str,
    ) -> int:
        if upload is not None:
            key, upload_id = upload.key, upload.upload_id
        else:
            key = self._staging(sha256, size, owner)
            # no upload-wide checksum algorithm: each part still carries its sha256, which the
            # server checks, and completing needs no part checksums back (not every server lists them)
            upload_id = (await self.client.create_multipart_upload(Bucket=self.bucket, Key=key))["UploadId"]
        stream = _PartStream(size, have)
        async for part in stream.parts(chunks):
            if part is None:
                await self._abort(key, upload_id)
                raise RequestError(f"upload is longer than the announced size {size}")
            await self.client.upload_part(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=stream.have // part_size(size) + 1,
                Body=part,
                ChecksumSHA256=b64_sha256(part),
            )
            stream.have += len(part)
        if stream.have == size:
            await self._commit(sha256, size, key, upload_id, stream.digest, owner)
        return stream.have

    async def _put_whole(self, sha256: str, size: int, chunks: AsyncIterator[bytes]) -> int:
        """A one-part blob sent whole: hashed here, then put under its final key with its sha256."""
        data = bytearray()
        async for chunk in chunks:
            data += chunk
            if len(data) > size:
                raise RequestError(f"upload is longer than the announced size {size}")
        if len(data) < size:  # cut short: nothing is kept of a one-part upload
            return 0
        _check_digest(hashlib.sha256(data), sha256)
        try:  # the name as the checksum: the server refuses content that does not hash to it, too
            await self.client.put_object(
                Bucket=self.bucket,
                Key=self._final(sha256),
                Body=bytes(data),
                ChecksumSHA256=base64.b64encode(bytes.fromhex(sha256)).decode(),
                ContentType="application/octet-stream",
            )
        except ClientError as exc:
            if _code(exc) in _BAD_DIGEST:
                raise Unprocessable(f"content does not hash to {sha256}; upload dropped") from None
            raise
        return size

    async def _commit(
        self, sha256: str, size: int, key: str, upload_id: str, digest: Any, owner: str
    ) -> None:
        """Complete the staged upload, verify its hash, then copy it under its final key."""
        parts = await self._parts(key, upload_id)
        try:
            await self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={
                    "Parts": [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in parts]
                },
            )
        except ClientError as exc:
            if _code(exc) != "NoSuchUpload":
                raise
            if not owner and await self.size(sha256) == size:  # another process committed it meanwhile
                return
            raise Conflict(f"another upload of {sha256} is being committed; retry") from None
        try:
            if digest is None:  # resumed: the bytes before this request were not seen here
                digest = hashlib.sha256()
                async for chunk in self._read_key(key, sha256):
                    digest.update(chunk)
            _check_digest(digest, sha256)
            await self._copy(key, self._final(sha256), size)
        finally:
            await self.client.delete_object(Bucket=self.bucket, Key=key)
        await self.drop_partial(sha256, owner)  # the owner's uploads other processes started meanwhile

    async def _copy(self, source: str, dest: str, size: int) -> None:
        src = {"Bucket": self.bucket, "Key": source}
        if size <= COPY_MAX:
            await self.client.copy_object(Bucket=self.bucket, Key=dest, CopySource=src)
            return
        upload_id = (await self.client.create_multipart_upload(Bucket=self.bucket, Key=dest))["UploadId"]
        try:
            step, parts = part_size(size), []
            for n, start in enumerate(range(0, size, step), start=1):
                copied = await self.client.upload_part_copy(
                    Bucket=self.bucket,
                    Key=dest,
                    UploadId=upload_id,
                    PartNumber=n,
                    CopySource=src,
                    CopySourceRange=f"bytes={start}-{min(start + step, size) - 1}",
                )
                parts.append({"PartNumber": n, "ETag": copied["CopyPartResult"]["ETag"]})
            await self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=dest, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            await self._abort(dest, upload_id)
            raise

    async def _abort(self, key: str, upload_id: str) -> None:
        try:
            await self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except ClientError as exc:
            if _code(exc) != "NoSuchUpload":  # another process completed or aborted it
                raise

    # --- collection ---

    async def shas(self) -> list[str]:
        found = []
        paginator = self.client.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=f"{self.prefix}blobs/"):
            found.extend(
                name for obj in page.get("Contents", []) if is_sha256(name := obj["Key"].rsplit("/", 1)[-1])
            )
        return sorted(found)

    async def partials(self, owner: str | None = None) -> list[Partial]:
        found = []
        for up in await self._uploads(self._partials_of(owner or "")):
            if owner is not None and up.owner != owner:
                continue
            parts = await self._parts(up.key, up.upload_id)
            last = max([up.initiated, *(p["LastModified"] for p in parts)])
            found.append(Partial(up.sha256, self._held(parts, up.size), last.timestamp(), up.owner))
        return sorted(found, key=lambda p: (p.owner, p.sha256))

    async def drop_partial(self, sha256: str, owner: str = "") -> None:
        for up in await self._uploads_of(sha256, owner):
            await self._abort(up.key, up.upload_id)


@dataclass(frozen=True)
class _Upload:
    """A multipart upload of a blob, as listed."""

    key: str
    sha256: str
    size: int
    upload_id: str
    initiated: datetime
    owner: str


class _PartStream:
    """Cuts an upload's chunks into parts of ``part_size(size)`` bytes, hashing them if it starts at 0."""

    def __init__(self, size: int, have: int) -> None:
        self.size = size
        self.have = have
        self.step = part_size(size)
        self.digest: Any = hashlib.sha256() if have == 0 else None

    async def parts(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes | None]:
        """Whole parts (and the last one); None once more bytes came than announced. Bytes of an
        unfinished part when the chunks end are dropped."""
        buf = bytearray()
        async for chunk in chunks:
            buf += chunk
            while buf:
                want = self._want()
                if want == 0:
                    yield None
                    return
                if len(buf) < want:
                    break
                part = bytes(buf[:want])
                del buf[:want]
                if self.digest is not None:
                    self.digest.update(part)
                yield part

    def _want(self) -> int:
        return min(self.step, self.size - self.have)


def _check_digest(digest: Any, sha256: str) -> None:
    if digest.hexdigest() != sha256:
        raise Unprocessable(f"content hashes to {digest.hexdigest()}, not {sha256}; upload dropped")


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
