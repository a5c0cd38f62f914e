"""Access-control tables, in SQL both backends run as written (``:name`` parameters).

``tokens``: one row per API token, keyed by sha256 of its secret. ``project`` holds what the token
grants, space-separated: project names (``ws/proj``) and whole workspaces (``ws/*``). Revoking a
token deletes its row; every request reads the row, so a revocation holds at once on every store
process sharing the database.

``blob_owners``: which projects hold a blob. A project holds a blob once one of its tokens
uploaded the content (a proof of possession); reading or skipping an upload needs that row, so a
blob's existence never shows across projects. ``touched`` is the last upload or existence check,
which garbage collection spares for a grace period (an upload whose batch is still to come).
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..plan import decode_value


class TokenRow(msgspec.Struct, frozen=True):
    """A token as ``server token list`` shows it (never the secret: only its hash is kept)."""

    id: str  # the first characters of the hash: enough to name the token, useless to present it
    name: str
    projects: str
    scopes: str
    created: float
    expires: float | None
    last_used: float | None


TOKEN_ID_CHARS = 12

ADD_TOKEN = (
    "INSERT INTO tokens(hash, project, scopes, created, name, expires, last_used)"
    " VALUES (:h, :p, :s, :c, :n, :e, NULL)"
)
TOKEN = "SELECT project, scopes, expires, last_used FROM tokens WHERE hash=:h"
TOKENS = "SELECT hash, name, project, scopes, created, expires, last_used FROM tokens ORDER BY created, hash"
USED = "UPDATE tokens SET last_used=:t WHERE hash=:h"
# a name, or a hash prefix of at least TOKEN_ID_CHARS (see ``token_id_pattern``)
REVOKE = "DELETE FROM tokens WHERE name=:n OR substr(hash, 1, :k)=:i"
MATCHING = "SELECT hash FROM tokens WHERE name=:n OR substr(hash, 1, :k)=:i"

OWN_BLOB = (
    "INSERT INTO blob_owners(project, sha256, touched) VALUES (:p, :s, :t)"
    " ON CONFLICT(project, sha256) DO UPDATE SET touched=excluded.touched"
)
OWNS_BLOB = "SELECT 1 FROM blob_owners WHERE project=:p AND sha256=:s"
BLOB_OWNERS = "SELECT sha256, project, touched FROM blob_owners"
# drop a blob's rows only if none was touched since the cutoff (one statement: atomic)
DISOWN_STALE = (
    "DELETE FROM blob_owners WHERE sha256=:s AND NOT EXISTS"
    " (SELECT 1 FROM blob_owners o WHERE o.sha256=:s AND o.touched>=:cutoff)"
)
OWNER_COUNT = "SELECT COUNT(*) FROM blob_owners WHERE sha256=:s"
PROJECTS = "SELECT DISTINCT project FROM runs"

# File references of every run (live or trashed) with its project: file and fileSet values,
# fileSeries points (``referenced_blobs`` decodes them).
FILE_VALUES = (
    "SELECT r.project, f.type, f.data FROM fields f JOIN runs r ON f.run=r.id"
    " WHERE f.type IN ('file', 'fileSet') AND f.data IS NOT NULL"
)
FILE_POINTS = (
    "SELECT r.project, 'fileSeries', p.raw FROM points p JOIN fields f ON p.field=f.id"
    " JOIN runs r ON f.run=r.id WHERE f.type='fileSeries' AND p.raw IS NOT NULL"
)


def referenced_blobs(rows: list[Any]) -> set[tuple[str, str]]:
    """(project, sha256) of each file reference in rows of ``FILE_VALUES`` / ``FILE_POINTS``."""
    found: set[tuple[str, str]] = set()
    for project, ftype, data in rows:
        value = decode_value(data)
        refs = list((value or {}).values()) if ftype == "fileSet" else [value]
        found.update((project, r["sha256"]) for r in refs if isinstance(r, dict) and "sha256" in r)
    return found
