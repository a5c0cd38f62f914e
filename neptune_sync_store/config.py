"""What a store instance is configured with (the CLI flags map onto these fields)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DATA_DIR_ENV = "NEPTUNE_SYNC_STORE_DIR"
DEFAULT_PORT = 8470
DEFAULT_MAX_BODY = 16 << 20  # 4x the daemon's largest batch; a decoded batch takes several times its size
DEFAULT_MAX_INFLIGHT = 8


def default_data_dir() -> Path:
    """``$NEPTUNE_SYNC_STORE_DIR``, else ``$XDG_DATA_HOME/neptune-sync-store``."""
    explicit = os.environ.get(DATA_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "neptune-sync-store"


@dataclass(frozen=True)
class StoreConfig:
    """Where data lives and the limits that keep the server standing under load.

    Attributes:
        data_dir: holds the blobs (``blobs/``) and, by default, the SQLite database.
        db: a ``postgresql://`` DSN or a SQLite file path; None means ``<data_dir>/store.sqlite3``.
        pg_schema: PostgreSQL schema holding the tables.
        max_body: largest accepted request body (batches, JSON); larger gets 413.
        max_blob: largest accepted blob; blobs stream, so this is not held in memory.
        max_inflight: batches (and, separately, blob uploads) processed at once; more get 429 with
            ``Retry-After``.
        retry_after: seconds suggested in ``Retry-After``.
        max_partial: bytes of unfinished uploads one project may hold (at least ``max_blob``, so
            that the largest blob can upload).
        partial_ttl: seconds after its last byte that an unfinished upload is abandoned.
        blobs: where blob bytes live: a directory or ``s3://bucket[/prefix]`` (docs/store.md);
            None means ``<data_dir>/blobs``.
        presign_seconds: > 0 redirects blob downloads to presigned URLs valid that long (S3 only).
    """

    data_dir: Path
    db: str | None = None
    pg_schema: str = "public"
    max_body: int = DEFAULT_MAX_BODY
    max_blob: int = 64 << 30
    max_inflight: int = DEFAULT_MAX_INFLIGHT
    retry_after: int = 1
    max_partial: int = 64 << 30
    partial_ttl: float = 86_400.0
    blobs: str | None = None
    presign_seconds: int = 0

    @property
    def blob_location(self) -> str:
        return self.blobs or str(self.data_dir / "blobs")

    @property
    def gc_lock(self) -> Path:
        """The file lock blob collection and committing uploads share (blobgc.BlobLock)."""
        return self.data_dir / ".gc.lock"


def private_data_dir(config: StoreConfig) -> None:
    """Create the data directory readable by its owner only (the database and blobs live in it)."""
    if not config.data_dir.exists():
        config.data_dir.mkdir(mode=0o700, parents=True)
        os.chmod(config.data_dir, 0o700)  # mkdir's mode is masked by the umask
