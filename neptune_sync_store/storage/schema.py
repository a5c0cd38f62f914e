"""The store database's schema version, and the steps that bring an older database up to it.

Each backend's ``SCHEMA`` creates the current version from nothing (every statement ``IF NOT
EXISTS``). A database records its version in the one-row table ``schema_version``; a database of
tables without that row is version 1, the first versioned layout. Opening a database:

- empty: ``SCHEMA`` is created and the current version recorded;
- older: in one transaction, the SQL of each step from its version on (``ALTER TABLE``: what
  ``SCHEMA`` cannot do), then ``SCHEMA`` (new tables and indexes), then each step's *fill* (a
  backend function that derives a new table's rows from what the database holds), then the new
  version is recorded;
- newer: refused with :class:`SchemaVersionError` (an older store must not write into a layout it
  does not know).

Version 2 adds the project tables', the registry's and the series chunks' tables, the tokens'
``name``, ``expires`` and ``last_used`` columns and the ``blob_owners`` table. It fills
``set_members`` from the string sets already stored, ``series_chunks`` from the float series' points
(a pass over every stored point: an upgrade of a large store takes a while) and ``blob_owners`` with
each project's referenced blobs (a version-1 store accepted a file reference only once its blob was
held, so a project keeps seeing its files). Version 3 adds ``series_summaries``, the summary levels over the series chunks
(.summaries), filled from ``series_chunks``. ``STEPS[n]`` is the SQL (SQLite, PostgreSQL) that turns version
``n - 1`` into ``n`` before ``SCHEMA``; the fills are the backends' ``FILLS[n]``.
"""

from __future__ import annotations

from neptune_sync.exceptions import StoreError

VERSION = 3

# version n -> (SQLite SQL, PostgreSQL SQL) run before SCHEMA when turning version n - 1 into n
STEPS: dict[int, tuple[str, str]] = {
    2: (
        "ALTER TABLE tokens ADD COLUMN name TEXT NOT NULL DEFAULT '';\n"
        "ALTER TABLE tokens ADD COLUMN expires REAL;\n"
        "ALTER TABLE tokens ADD COLUMN last_used REAL;\n",
        "ALTER TABLE tokens ADD COLUMN IF NOT EXISTS name TEXT NOT NULL DEFAULT '';\n"
        "ALTER TABLE tokens ADD COLUMN IF NOT EXISTS expires DOUBLE PRECISION;\n"
        "ALTER TABLE tokens ADD COLUMN IF NOT EXISTS last_used DOUBLE PRECISION;\n",
    ),
    3: ("", ""),  # a new table only: SCHEMA creates it
}

VERSION_TABLE = "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)"


class SchemaVersionError(StoreError):
    """The database was written by a newer store than this one."""

    def __init__(self, found: int) -> None:
        super().__init__(
            f"the store database has schema version {found}, newer than this store's {VERSION}: "
            "run the neptune-sync version that created it, or a newer one"
        )
        self.found = found


def plan(found: int | None, has_tables: bool) -> list[int]:
    """The steps to run for a database at version ``found`` (None: no version recorded), which
    holds tables or not. An empty list with ``found`` None and no tables: create from nothing."""
    if found is None:
        found = 1 if has_tables else VERSION
    if found > VERSION:
        raise SchemaVersionError(found)
    return list(range(found + 1, VERSION + 1))
