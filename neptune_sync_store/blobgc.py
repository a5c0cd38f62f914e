"""Blob garbage collection (``neptune-sync server gc``) and the lock that makes it safe.

A blob is garbage when no run references it (trashed runs still do, until their trash is
cleared) and no project touched it (uploaded it or asked for it) within the grace period: an
upload's batch may still be on its way. A partial upload is garbage once no byte arrived for the
partial TTL.

Uploads in flight are safe: partials still being written are recent, and a committing upload
holds :class:`BlobLock` shared from the moment its last bytes land until its project owns the
blob, while collection holds it exclusive from the check that no project owns a blob to its
deletion. A blob is therefore never deleted between an upload's commit and its owner row.

The lock is an ``flock`` on ``<data_dir>/.gc.lock``: it orders the store processes and the
collector of one host. Store processes on several hosts sharing an S3 bucket and a PostgreSQL
database are not ordered by it: run collection there only while uploads are stopped (docs/store.md).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .blob_backends import BlobBackend
from .storage import Storage

DEFAULT_GRACE = 86_400.0


class BlobLock:
    """An advisory file lock in the data directory (held by every store process of this host)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @asynccontextmanager
    async def _held(self, mode: int, enabled: bool = True) -> AsyncIterator[None]:
        if not enabled:
            yield
            return
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            await asyncio.to_thread(fcntl.flock, fd, mode)
            yield
        finally:
            os.close(fd)  # releases the lock

    def shared(self, *, enabled: bool = True):  # type: ignore[no-untyped-def]
        return self._held(fcntl.LOCK_SH, enabled)

    def exclusive(self):  # type: ignore[no-untyped-def]
        return self._held(fcntl.LOCK_EX)


@dataclass
class GcReport:
    blobs: list[str] = field(default_factory=list)  # deleted (or, on a dry run, to delete)
    blob_bytes: int = 0
    partials: int = 0
    partial_bytes: int = 0
    kept_referenced: int = 0
    kept_recent: int = 0

    def summary(self, dry_run: bool) -> str:
        verb = "would delete" if dry_run else "deleted"
        return (
            f"{verb} {len(self.blobs)} unreferenced blobs ({self.blob_bytes} bytes) and"
            f" {self.partials} abandoned partial uploads ({self.partial_bytes} bytes); kept"
            f" {self.kept_referenced} referenced and {self.kept_recent} recently touched blobs"
        )


async def collect(
    storage: Storage,
    blobs: BlobBackend,
    *,
    lock: BlobLock,
    grace: float = DEFAULT_GRACE,
    partial_ttl: float,
    dry_run: bool = False,
    now: float | None = None,
) -> GcReport:
    """Delete unreferenced blobs untouched for ``grace`` seconds and partials idle for ``partial_ttl``."""
    now = time.time() if now is None else now
    cutoff = now - grace
    report = GcReport()
    referenced = await storage.file_refs()
    touched: dict[str, float] = {}
    for sha, _, when in await storage.blob_owners():
        touched[sha] = max(when, touched.get(sha, when))
    for sha in sorted(set(await blobs.shas()) | set(touched)):
        if sha in referenced:
            report.kept_referenced += 1
            continue
        if touched.get(sha, -1.0) >= cutoff:
            report.kept_recent += 1
            continue
        size = await blobs.size(sha) or 0
        if dry_run:
            report.blobs.append(sha)
            report.blob_bytes += size
            continue
        async with lock.exclusive():
            if await storage.disown_stale_blob(sha, cutoff):
                await blobs.delete(sha)
                report.blobs.append(sha)
                report.blob_bytes += size
            else:
                report.kept_recent += 1
    for partial in await blobs.partials():
        if now - partial.last_write > partial_ttl:
            if not dry_run:
                await blobs.drop_partial(partial.sha256, partial.owner)
            report.partials += 1
            report.partial_bytes += partial.received
    return report
