"""Which failures mean "the store cannot work right now" rather than "this request made it fail".

The answer decides the status of an unexpected error (docs/sync-protocol.md): an outage is a 503
with ``Retry-After`` (the daemon retries for as long as it lasts), anything else a 500, which the
daemon, after a few in a row for the same batch, takes as the batch's fault and splits the batch
to quarantine the one op that makes the store fail. So a full disk, a lost database connection
or a locked database must never be a 500, or the daemon would quarantine good data.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys

# SQLite primary result codes of a database that cannot work now: BUSY, LOCKED, NOMEM, READONLY,
# IOERR, FULL, CANTOPEN, PROTOCOL (https://sqlite.org/rescode.html).
_SQLITE_OUTAGE = frozenset({5, 6, 7, 8, 10, 13, 14, 15})
# PostgreSQL SQLSTATE classes: 08 connection exception, 53 insufficient resources (disk full,
# out of memory, too many connections), 57 operator intervention (shutdown), 58 system error.
_PG_OUTAGE_CLASSES = ("08", "53", "57", "58")


def is_outage(exc: BaseException) -> bool:
    """True if ``exc`` says the store's storage is unavailable, not that the request is bad."""
    if isinstance(exc, (OSError, asyncio.TimeoutError)):  # disk full writing a blob, lost sockets
        return True
    if isinstance(exc, sqlite3.OperationalError):
        return getattr(exc, "sqlite_errorcode", 0) & 0xFF in _SQLITE_OUTAGE
    if _is_object_storage_outage(exc):
        return True
    asyncpg = sys.modules.get("asyncpg")  # imported only when the store runs on PostgreSQL
    if asyncpg is None:
        return False
    if isinstance(exc, asyncpg.InterfaceError):  # e.g. the connection closed under a query
        return True
    state = getattr(exc, "sqlstate", None) if isinstance(exc, asyncpg.PostgresError) else None
    return isinstance(state, str) and state[:2] in _PG_OUTAGE_CLASSES


def _is_object_storage_outage(exc: BaseException) -> bool:
    """botocore's failures to reach the bucket, and the bucket's own 5xx answers (SlowDown,
    InternalError, ServiceUnavailable): the S3 blob backend cannot work now."""
    botocore = sys.modules.get("botocore.exceptions")  # imported only with the S3 blob backend
    if botocore is None:
        return False
    if isinstance(exc, (botocore.ConnectionError, botocore.HTTPClientError)):
        return True
    if isinstance(exc, botocore.ClientError):
        return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)) >= 500
    return False
