"""Storage backends behind one interface (:class:`Storage`); :func:`make_storage` picks one from
``--db`` (a PostgreSQL DSN or a SQLite path), and ``server.open_storage`` opens it."""

from __future__ import annotations

from pathlib import Path

from .base import Storage


def make_storage(db: str | None, data_dir: Path, *, pg_schema: str = "public") -> Storage:
    """The backend for ``db``: a ``postgresql://`` DSN, a SQLite file path, or None for ``<data_dir>/store.sqlite3``.

    Not opened yet: call ``await storage.open()``. asyncpg is imported only when PostgreSQL is asked for.
    """
    if db and db.startswith(("postgres://", "postgresql://")):
        from .postgres import PostgresStorage

        return PostgresStorage(db, schema=pg_schema)
    from .sqlite import SQLiteStorage

    return SQLiteStorage(Path(db) if db else data_dir / "store.sqlite3")


__all__ = ["Storage", "make_storage"]
