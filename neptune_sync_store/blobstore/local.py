"""Blobs in a local directory: ``<root>/<aa>/<sha256>`` complete and verified,
``<root>/.partial/<sha256>`` the bytes received so far of an upload in progress.

An upload appends at the offset the client names (which must equal the partial's size); when the
partial reaches the announced size it is hashed and renamed into place, or deleted if the hash does
not match. A crash (or an upload cut after its last byte) leaves at most a partial, which the next
upload resumes: a request at offset == size with no body then verifies and commits it. An empty
blob is committed by one empty request. The partial is locked (``flock``) while it is written, so
store processes sharing the directory never append to one partial at once.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from ..errors import Conflict, NotFound, RequestError, Unprocessable
from . import BlobBackend, Partial, check_name

CHUNK = 1 << 20


class LocalBlobBackend(BlobBackend):
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.partial_dir = self.root / ".partial"

    async def open(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    async def close(self) -> None:
        pass

    def file_path(self, sha256: str) -> Path:
        return self.root / check_name(sha256)[:2] / sha256

    async def size(self, sha256: str) -> int | None:
        try:
            return self.file_path(sha256).stat().st_size
        except FileNotFoundError:
            return None

    async def received(self, sha256: str) -> int:
        try:
            return (self.partial_dir / check_name(sha256)).stat().st_size
        except FileNotFoundError:
            return 0

    async def receive(self, sha256: str, size: int, offset: int, chunks: AsyncIterator[bytes]) -> int:
        check_name(sha256)
        if offset > size:
            raise RequestError(f"upload offset {offset} is beyond the announced size {size}")
        self.partial_dir.mkdir(parents=True, exist_ok=True)
        partial = self.partial_dir / sha256
        with open(partial, "ab") as out:
            try:
                fcntl.flock(out, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise Conflict(f"an upload of {sha256} is already in progress") from None
            if await self.size(sha256) is not None:  # committed by the upload that held the lock
                partial.unlink(missing_ok=True)
                return size
            have = out.tell()
            if have > size:  # a partial of an upload that announced another size: start again
                out.truncate(0)
                have = 0
            if offset != have:
                raise Conflict(
                    f"upload offset {offset} does not match the {have} bytes received",
                    headers={"X-Upload-Offset": str(have)},
                )
            have = await _append(out, partial, size, have, chunks)
            if have == size:
                await asyncio.to_thread(self._finish, sha256)
        return have

    def _finish(self, sha256: str) -> None:
        partial = self.partial_dir / sha256
        digest = hashlib.sha256()
        with open(partial, "rb") as f:
            for chunk in iter(lambda: f.read(CHUNK), b""):
                digest.update(chunk)
        if digest.hexdigest() != sha256:
            partial.unlink(missing_ok=True)
            raise Unprocessable(f"content hashes to {digest.hexdigest()}, not {sha256}; upload dropped")
        final = self.file_path(sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(partial, final)

    async def read(self, sha256: str) -> AsyncIterator[bytes]:
        try:
            f = open(self.file_path(sha256), "rb")  # noqa: SIM115 (closed below, across awaits)
        except FileNotFoundError:
            raise NotFound(f"no blob {sha256}") from None
        with f:
            while chunk := await asyncio.to_thread(f.read, CHUNK):
                yield chunk

    async def delete(self, sha256: str) -> bool:
        try:
            self.file_path(sha256).unlink()
        except FileNotFoundError:
            return False
        return True

    async def partials(self) -> list[Partial]:
        try:
            names = os.listdir(self.partial_dir)
        except FileNotFoundError:
            return []
        found = []
        for name in sorted(names):
            try:
                st = (self.partial_dir / name).stat()
            except FileNotFoundError:  # committed or dropped meanwhile
                continue
            found.append(Partial(name, st.st_size, st.st_mtime))
        return found

    async def drop_partial(self, sha256: str) -> None:
        (self.partial_dir / check_name(sha256)).unlink(missing_ok=True)


async def _append(out: BinaryIO, partial: Path, size: int, have: int, chunks: AsyncIterator[bytes]) -> int:
    async for chunk in chunks:
        if have + len(chunk) > size:
            partial.unlink(missing_ok=True)
            raise RequestError(f"upload is longer than the announced size {size}")
        await asyncio.to_thread(out.write, chunk)
        have += len(chunk)
    out.flush()
    return have
