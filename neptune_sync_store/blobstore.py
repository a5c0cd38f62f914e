"""The store's content-addressed blob directory, with resumable uploads.

``blobs/<aa>/<sha256>`` holds complete, verified content; ``blobs/.partial/<sha256>`` holds the
bytes received so far of an upload in progress. An upload appends at the offset the client names
(which must equal the partial size), and when the partial reaches the announced size it is hashed
and renamed into place, or deleted if the hash does not match. A crash (or an upload cut after its
last byte) leaves at most a partial, which the next upload resumes: a request at offset == size
with no body then verifies and commits it. An empty blob is committed by one empty request. Only names that are 64 lowercase hex digits ever reach the disk.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

from .errors import Conflict, RequestError, Unprocessable
from .validation import is_sha256

CHUNK = 1 << 20


class BlobFiles:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.partial_dir = self.root / ".partial"
        self._busy: set[str] = set()

    def path_of(self, sha256: str) -> Path:
        if not is_sha256(sha256):
            raise RequestError(f"{sha256!r} is not a lowercase hex sha256")
        return self.root / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def size(self, sha256: str) -> int | None:
        try:
            return self.path_of(sha256).stat().st_size
        except FileNotFoundError:
            return None

    def received(self, sha256: str) -> int:
        """Bytes of an unfinished upload already received (0 if none)."""
        self.path_of(sha256)  # validates the name
        try:
            return (self.partial_dir / sha256).stat().st_size
        except FileNotFoundError:
            return 0

    async def receive(self, sha256: str, size: int, offset: int, chunks: AsyncIterator[bytes]) -> int:
        """Append an upload's bytes at ``offset``; returns bytes received (== size when complete).

        Raises:
            Conflict: another upload of this blob is in progress, or ``offset`` is not where the
                partial ends (the error carries the right offset).
            RequestError: more bytes than ``size``.
            Unprocessable: the complete content does not hash to ``sha256`` (the partial is dropped).
        """
        self.path_of(sha256)
        if sha256 in self._busy:
            raise Conflict(f"an upload of {sha256} is already in progress")
        if offset > size:
            raise RequestError(f"upload offset {offset} is beyond the announced size {size}")
        self._busy.add(sha256)
        try:
            have = self.received(sha256)
            if have > size:  # a partial of an upload that announced another size: start again
                (self.partial_dir / sha256).unlink(missing_ok=True)
                have = 0
            if offset != have:
                raise Conflict(
                    f"upload offset {offset} does not match the {have} bytes received",
                    headers={"X-Upload-Offset": str(have)},
                )
            have = await self._append(sha256, size, have, chunks)
            if have == size:
                await asyncio.to_thread(self._finish, sha256)
            return have
        finally:
            self._busy.discard(sha256)

    async def _append(self, sha256: str, size: int, have: int, chunks: AsyncIterator[bytes]) -> int:
        self.partial_dir.mkdir(parents=True, exist_ok=True)
        partial = self.partial_dir / sha256
        with open(partial, "ab") as out:
            async for chunk in chunks:
                if have + len(chunk) > size:
                    out.close()
                    partial.unlink(missing_ok=True)
                    raise RequestError(f"upload is longer than the announced size {size}")
                await asyncio.to_thread(out.write, chunk)
                have += len(chunk)
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
        final = self.path_of(sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(partial, final)
