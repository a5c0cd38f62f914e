"""Blobs in a local directory: ``<root>/<aa>/<sha256>`` complete and verified,
``<root>/.partial/[<owner>/]<sha256>`` the bytes received so far of an owner's upload in progress.

An upload appends at the offset the client names (which must equal the partial's size); when the
partial reaches the announced size it is hashed and renamed into place, or deleted if the hash does
not match. A crash (or an upload cut after its last byte) leaves at most a partial, which the next
upload resumes: a request at offset == size with no body then verifies and commits it. An empty
blob is committed by one empty request. The partial is locked (``flock``) while it is written, so
store processes sharing the directory never append to one partial at once; one that waited for the
lock of a partial another committed meanwhile finds its file moved under ``<aa>/`` and stops.
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
from ..validation import is_sha256
from . import BlobBackend, Partial, check_name, check_owner

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

    def _partial(self, sha256: str, owner: str) -> Path:
        check_name(sha256)
        return self.partial_dir / check_owner(owner) / sha256 if owner else self.partial_dir / sha256

    async def received(self, sha256: str, owner: str = "") -> int:
        try:
            return self._partial(sha256, owner).stat().st_size
        except FileNotFoundError:
            return 0

    async def receive(
        self, sha256: str, size: int, offset: int, chunks: AsyncIterator[bytes], owner: str = ""
    ) -> int:
        partial = self._partial(sha256, owner)
        if offset > size:
            raise RequestError(f"upload offset {offset} is beyond the announced size {size}")
        partial.parent.mkdir(parents=True, exist_ok=True)
        with open(partial, "ab") as out:
            try:
                fcntl.flock(out, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise Conflict(f"an upload of {sha256} is already in progress") from None
            if not _still_at(out, partial):  # committed (or dropped) by the upload that held the lock
                if _still_at(out, self.file_path(sha256)):
                    return size  # this owner's own partial, verified and committed
                raise Conflict(f"the upload of {sha256} was dropped meanwhile; retry")
            have = out.tell()
            if have > size:  # a partial of an upload that announced another size: start again
                out.truncate(0)
                have = 0
            if offset != have:
                if have == 0:  # opening created it: a refused request leaves no partial behind
                    partial.unlink(missing_ok=True)
                raise Conflict(
                    f"upload offset {offset} does not match the {have} bytes received",
                    headers={"X-Upload-Offset": str(have)},
                )
            have = await _append(out, partial, size, have, chunks)
            if have == size:
                await asyncio.to_thread(self._finish, sha256, partial)
        return have

    def _finish(self, sha256: str, partial: Path) -> None:
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

    async def shas(self) -> list[str]:
        return sorted(p.name for p in self.root.glob("??/*") if is_sha256(p.name))

    async def partials(self, owner: str | None = None) -> list[Partial]:
        if owner is None:
            places = [("", self.partial_dir)] + [
                (d.name, d) for d in _listdir(self.partial_dir) if d.is_dir() and not is_sha256(d.name)
            ]
        else:
            places = [(owner, self._partial("0" * 64, owner).parent)]
        found = []
        for who, place in places:
            for path in _listdir(place):
                if not is_sha256(path.name):
                    continue
                try:
                    st = path.stat()
                except FileNotFoundError:  # committed or dropped meanwhile
                    continue
                if not path.is_dir():
                    found.append(Partial(path.name, st.st_size, st.st_mtime, who))
        return sorted(found, key=lambda p: (p.owner, p.sha256))

    async def drop_partial(self, sha256: str, owner: str = "") -> None:
        self._partial(sha256, owner).unlink(missing_ok=True)


def _listdir(place: Path) -> list[Path]:
    try:
        return [place / name for name in os.listdir(place)]
    except FileNotFoundError:
        return []


def _still_at(out: BinaryIO, path: Path) -> bool:
    """Whether the open file ``out`` is the file at ``path``."""
    try:
        return os.path.samestat(os.fstat(out.fileno()), path.stat())
    except FileNotFoundError:
        return False


async def _append(out: BinaryIO, partial: Path, size: int, have: int, chunks: AsyncIterator[bytes]) -> int:
    async for chunk in chunks:
        if have + len(chunk) > size:
            partial.unlink(missing_ok=True)
            raise RequestError(f"upload is longer than the announced size {size}")
        await asyncio.to_thread(out.write, chunk)
        have += len(chunk)
    out.flush()
    return have
