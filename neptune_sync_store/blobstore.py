"""The store's content-addressed blob directory, with resumable uploads.

``blobs/<aa>/<sha256>`` holds complete, verified content; ``blobs/.partial/<owner>/<sha256>`` holds
the bytes received so far of an upload in progress, one per uploader (``owner``: a name the caller
picks, so that one uploader never sees another's progress). An upload appends at the offset the client names
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
        self._busy: set[tuple[str, str]] = set()

    def _partial(self, sha256: str, owner: str) -> Path:
        return self.partial_dir / owner / sha256 if owner else self.partial_dir / sha256

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

    def received(self, sha256: str, owner: str = "") -> int:
        """Bytes of an unfinished upload already received (0 if none)."""
        self.path_of(sha256)  # validates the name
        try:
            return self._partial(sha256, owner).stat().st_size
        except FileNotFoundError:
            return 0

    async def receive(
        self, sha256: str, size: int, offset: int, chunks: AsyncIterator[bytes], owner: str = ""
    ) -> int:
        """Append an upload's bytes at ``offset``; returns bytes received (== size when complete).

        Raises:
            Conflict: another upload of this blob is in progress, or ``offset`` is not where the
                partial ends (the error carries the right offset).
            RequestError: more bytes than ``size``.
            Unprocessable: the complete content does not hash to ``sha256`` (the partial is dropped).
        """
        self.path_of(sha256)
        if (owner, sha256) in self._busy:
            raise Conflict(f"an upload of {sha256} is already in progress")
        if offset > size:
            raise RequestError(f"upload offset {offset} is beyond the announced size {size}")
        self._busy.add((owner, sha256))
        try:
            have = self.received(sha256, owner)
            if have > size:  # a partial of an upload that announced another size: start again
                self._partial(sha256, owner).unlink(missing_ok=True)
                have = 0
            if offset != have:
                raise Conflict(
                    f"upload offset {offset} does not match the {have} bytes received",
                    headers={"X-Upload-Offset": str(have)},
                )
            partial = self._partial(sha256, owner)
            have = await self._append(partial, size, have, chunks)
            if have == size:
                await asyncio.to_thread(self._finish, sha256, partial)
            return have
        finally:
            self._busy.discard((owner, sha256))

    async def _append(self, partial: Path, size: int, have: int, chunks: AsyncIterator[bytes]) -> int:
        partial.parent.mkdir(parents=True, exist_ok=True)
        with open(partial, "ab") as out:
            async for chunk in chunks:
                if have + len(chunk) > size:
                    out.close()
                    partial.unlink(missing_ok=True)
                    raise RequestError(f"upload is longer than the announced size {size}")
                await asyncio.to_thread(out.write, chunk)
                have += len(chunk)
        return have

    def _finish(self, sha256: str, partial: Path) -> None:
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

    def shas(self) -> list[str]:
        """Every committed blob."""
        return sorted(p.name for p in self.root.glob("??/*") if is_sha256(p.name))

    def delete(self, sha256: str) -> None:
        self.path_of(sha256).unlink(missing_ok=True)

    def partials(self, owner: str | None = None) -> list[tuple[str, str, int, float]]:
        """(owner, sha256, bytes, last write) of unfinished uploads: ``owner``'s, or everyone's if None."""
        pattern = "*/*" if owner is None else f"{owner}/*"
        found = []
        for path in self.partial_dir.glob(pattern):
            if is_sha256(path.name) and (path.parent.name, path.name) not in self._busy:
                try:
                    st = path.stat()
                except FileNotFoundError:  # finished or deleted meanwhile
                    continue
                found.append((path.parent.name, path.name, st.st_size, st.st_mtime))
        return found

    def delete_partial(self, sha256: str, owner: str) -> None:
        self.path_of(sha256)
        if (owner, sha256) not in self._busy:
            self._partial(sha256, owner).unlink(missing_ok=True)
