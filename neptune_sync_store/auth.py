"""Per-project API tokens with read / write scopes.

A request carries ``Authorization: Bearer <token>``; the token is the self-describing string of
:mod:`neptune_sync.token` (or its bare secret). The store keeps only sha256 of the secret. A token
grants its scopes on exactly one project: no token or an unknown one is 401, a known token used
on another project or for a scope it lacks is 403.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import web

from neptune_sync.exceptions import AuthError
from neptune_sync.token import ApiToken, hash_secret, new_secret, secret_of

from .errors import Forbidden, RequestError, Unauthorized
from .storage import Storage
from .validation import check_project

READ = "read"
WRITE = "write"
SCOPES = (READ, WRITE)


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: one project and its scopes."""

    project: str
    scopes: frozenset[str]

    def require(self, project: str, scope: str | None) -> None:
        """Raise 403 unless this token grants ``scope`` (any, if None) on ``project``."""
        if project != self.project:
            raise Forbidden(f"this token is for project {self.project!r}, not {project!r}")
        if scope is not None and scope not in self.scopes:
            raise Forbidden(f"this token lacks the {scope!r} scope on {project!r}")

    def require_any(self, scope: str) -> None:
        """Raise 403 unless this token grants ``scope`` (blobs are shared by content, not by project)."""
        if scope not in self.scopes:
            raise Forbidden(f"this token lacks the {scope!r} scope")


class TokenAuth:
    """Mints tokens and resolves presented ones (valid tokens are cached: they are never revoked here)."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._known: dict[str, Principal] = {}

    async def mint(self, project: str, scopes: Iterable[str], address: str) -> str:
        """Create a token for ``project`` carrying ``address``; returns the string users set."""
        check_project(project)
        wanted = sorted(set(scopes))
        if not wanted or any(s not in SCOPES for s in wanted):
            raise RequestError(f"scopes must be a non-empty subset of {SCOPES}, got {wanted}")
        secret = new_secret()
        await self._storage.add_token(hash_secret(secret), project, ",".join(wanted), time.time())
        return ApiToken(address, secret).format()

    async def principal(self, request: web.Request) -> Principal:
        """The principal of a request; 401 if it carries no valid token."""
        header = request.headers.get("Authorization", "")
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise Unauthorized("missing API token: send 'Authorization: Bearer <NEPTUNE_API_TOKEN>'")
        try:
            digest = hash_secret(secret_of(presented.strip()))
        except AuthError as exc:
            raise Unauthorized(str(exc)) from None
        known = self._known.get(digest)
        if known is None:
            row = await self._storage.token(digest)
            if row is None:
                raise Unauthorized("unknown API token")
            known = self._known[digest] = Principal(row[0], frozenset(row[1].split(",")))
        return known
