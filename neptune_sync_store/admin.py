"""The store's administration commands: tokens (create, list, revoke), blob collection, backup and
restore. Each opens the store's database directly (the server may be running: every one of them is
safe beside it, except restore, which wants the server stopped)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import sqlite3
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from neptune_sync.exceptions import NeptuneUserError

from .config import StoreConfig, private_data_dir
from .storage import Storage
from .storage.access import TokenRow

T = TypeVar("T")
_DURATION = re.compile(r"(\d+)([smhdw])")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
DB_NAME = "store.sqlite3"


def parse_expiry(text: str, now: float) -> float:
    """POSIX time of ``--expires``: a duration from now (``90m``, ``12h``, ``30d``, ``2w``) or an ISO date."""
    m = _DURATION.fullmatch(text.strip())
    if m:
        return now + int(m[1]) * _UNIT[m[2]]
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise NeptuneUserError(
            f"--expires {text!r} is neither a duration (90m, 12h, 30d, 2w) nor an ISO date (2027-01-31)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    if when.timestamp() <= now:
        raise NeptuneUserError(f"--expires {text!r} is in the past")
    return when.timestamp()


def read_ca(path: str) -> str:
    """The PEM text of a CA certificate file, checked to load as one."""
    try:
        pem = Path(path).read_text()
        ssl.create_default_context(cadata=pem)
    except (OSError, UnicodeDecodeError, ssl.SSLError) as exc:
        raise NeptuneUserError(f"--ca-file {path!r} is not a readable PEM CA certificate: {exc}") from None
    return pem


async def with_storage(config: StoreConfig, work: Callable[[Storage], Awaitable[T]]) -> T:
    from .server import open_storage

    private_data_dir(config)
    storage = await open_storage(config)
    try:
        return await work(storage)
    finally:
        await storage.close()


def _when(t: float | None) -> str:
    if t is None:
        return "-"
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def token_table(rows: list[TokenRow], now: float) -> str:
    """The ``token list`` table: id, name, grants, scopes, created, expires, last used."""
    head = ("ID", "NAME", "PROJECTS", "SCOPES", "CREATED", "EXPIRES", "LAST USED")
    lines = [head]
    for r in rows:
        expires = _when(r.expires) + (" (expired)" if r.expires is not None and r.expires <= now else "")
        lines.append(
            (r.id, r.name or "-", r.projects, r.scopes, _when(r.created), expires, _when(r.last_used))
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


async def revoke(storage: Storage, name_or_id: str, *, every: bool) -> int:
    """Delete the token named so (or with this id); refuses an ambiguous name unless ``every``."""
    matching = await storage.tokens_named(name_or_id)
    if matching == 0:
        raise NeptuneUserError(
            f"no token has the name or id {name_or_id!r} (see `neptune-sync server token list`)"
        )
    if matching > 1 and not every:
        raise NeptuneUserError(f"{matching} tokens have the name {name_or_id!r}: revoke by id, or pass --all")
    return await storage.revoke_tokens(name_or_id)


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def copy_blobs(src: Path, dest: Path) -> int:
    """Copy committed blobs missing from ``dest`` (content-named and immutable, so what is there is
    right); partial uploads and the lock file stay behind. Returns how many were copied."""
    copied = 0
    for path in sorted(src.glob("??/*")):
        target = dest / path.parent.name / path.name
        if target.exists():
            continue
        _private_dir(target.parent)
        tmp = target.with_name(target.name + ".tmp")
        shutil.copyfile(path, tmp)
        tmp.replace(target)
        copied += 1
    return copied


def backup_sqlite(db: Path, dest: Path) -> None:
    """A consistent copy of a live SQLite database by SQLite's online backup API."""
    tmp = dest.with_name(dest.name + ".tmp")
    tmp.unlink(missing_ok=True)
    tmp.touch(mode=0o600)
    src = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        out = sqlite3.connect(tmp)
        try:
            src.backup(out)
        finally:
            out.close()
    finally:
        src.close()
    tmp.replace(dest)


def backup(config: StoreConfig, dest: Path) -> str:
    """Back the store up into ``dest``: database first, then the blobs it may reference."""
    _private_dir(dest)
    lines = []
    if config.db and config.db.startswith(("postgres://", "postgresql://")):
        lines.append(
            'the database is PostgreSQL: back it up with pg_dump first (docs/store.md, "Backups");'
            " copying the blobs"
        )
    else:
        db = Path(config.db) if config.db else config.data_dir / DB_NAME
        if not db.is_file():
            raise NeptuneUserError(f"no store database at {db}")
        backup_sqlite(db, dest / DB_NAME)
        lines.append(f"database -> {dest / DB_NAME}")
    blobs = _local_blobs(config)
    if blobs is None:
        lines.append(S3_BLOBS)
    else:
        copied = copy_blobs(blobs, dest / "blobs")
        lines.append(f"blobs: {copied} copied -> {dest / 'blobs'}")
    return "\n".join(lines)


S3_BLOBS = "the blobs are in S3: back the bucket up (or version it) with the object store's own tools"


def _local_blobs(config: StoreConfig) -> Path | None:
    """The blob directory, or None when the blobs live in S3."""
    location = config.blob_location
    return None if location.startswith("s3://") else Path(location)


def restore(config: StoreConfig, src: Path, *, replace: bool) -> str:
    """Put a backup made by :func:`backup` back in place (with the server stopped)."""
    if not (src / "blobs").is_dir() and not (src / DB_NAME).is_file():
        raise NeptuneUserError(f"{src} holds no backup (no {DB_NAME}, no blobs/)")
    lines = []
    if not (config.db and config.db.startswith(("postgres://", "postgresql://"))):
        db = Path(config.db) if config.db else config.data_dir / DB_NAME
        if not (src / DB_NAME).is_file():
            raise NeptuneUserError(f"{src} holds no {DB_NAME}")
        if db.exists() and not replace:
            raise NeptuneUserError(f"{db} exists: stop the store and pass --replace to overwrite it")
        _private_dir(db.parent)
        for stale in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            stale.unlink(missing_ok=True)
        backup_sqlite(src / DB_NAME, db)
        lines.append(f"database <- {src / DB_NAME}")
    else:
        lines.append("the database is PostgreSQL: restore it with pg_restore / psql (docs/store.md)")
    blobs = _local_blobs(config)
    if blobs is None:
        lines.append(S3_BLOBS)
    else:
        _private_dir(blobs)
        copied = copy_blobs(src / "blobs", blobs)
        lines.append(f"blobs: {copied} copied <- {src / 'blobs'}")
    lines.append("daemons re-send what the backup lacks at their next sync")
    return "\n".join(lines)
