"""API tokens with read / write scopes on one or several projects, or on whole workspaces.

A request carries ``Authorization: Bearer <token>``; the token is the self-describing string of
:mod:`neptune_sync.wire.token` (or its bare secret). The store keeps only sha256 of the secret. A token
grants its scopes on the projects it names (``ws/proj``) and on every project of the workspaces it
names (``ws/*``). No token, an unknown, revoked or expired one is 401; a known token used on a
project it does not grant, or for a scope it lacks, is 403.

Every request reads the token's row: nothing is cached, so revoking a token (deleting its row)
holds at once on every store process that shares the database. The last-used time is written at
most once a minute per token and process, so reads do not turn into a write each.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import web

from neptune_sync.exceptions import AuthError
from neptune_sync.wire.token import ApiToken, hash_secret, new_secret, secret_of

from .errors import Forbidden, RequestError, Unauthorized
from .storage import Storage
from .validation import check_project

READ = "read"
WRITE = "write"
SCOPES = (READ, WRITE)
USED_EVERY = 60.0  # seconds between two writes of a token's last-used time
_WORKSPACE = re.compile(r"[A-Za-z0-9._-]+/\*")


def check_grants(grants: Iterable[str]) -> list[str]:
    """Sorted distinct grants, each a project (``ws/proj``) or a workspace (``ws/*``)."""
    wanted = sorted(set(grants))
    if not wanted:
        raise RequestError("a token needs at least one project or workspace ('ws/proj' or 'ws/*')")
    for grant in wanted:
        if not _WORKSPACE.fullmatch(grant):
            check_project(grant)
    return wanted


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: the projects and workspaces a token grants, and its scopes."""

    grants: frozenset[str]
    scopes: frozenset[str]

    def covers(self, project: str) -> bool:
        return project in self.grants or f"{project.split('/', 1)[0]}/*" in self.grants

    def require(self, project: str, scope: str | None) -> None:
        """Raise 403 unless this token grants ``scope`` (any, if None) on ``project``."""
        if not self.covers(project):
            raise Forbidden(f"this token does not grant project {project!r} (it grants {self.shown})")
        if scope is not None and scope not in self.scopes:
            raise Forbidden(f"this token lacks the {scope!r} scope on {project!r}")

    @property
    def shown(self) -> str:
        return ", ".join(sorted(self.grants))

    def only_project(self) -> str | None:
        """The project a token names when it names exactly one (and no workspace)."""
        if len(self.grants) == 1:
            (grant,) = self.grants
            if not grant.endswith("/*"):
                return grant
        return None


class TokenAuth:
    """Mints tokens and resolves presented ones, reading the token's row on every request."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._used: dict[str, float] = {}  # digest -> when this process last recorded a use

    async def mint(
        self,
        projects: str | Iterable[str],
        scopes: Iterable[str],
        address: str,
        *,
        name: str = "",
        expires: float | None = None,
        ca: str | None = None,
    ) -> str:
        """Create a token granting ``projects`` (a name, or several), carrying ``address`` (and the
        PEM of the CA that signed the store's certificate, for a private CA)."""
        grants = check_grants([projects] if isinstance(projects, str) else projects)
        wanted = sorted(set(scopes))
        if not wanted or any(s not in SCOPES for s in wanted):
            raise RequestError(f"scopes must be a non-empty subset of {SCOPES}, got {wanted}")
        if len(name) > 100 or any(not c.isprintable() for c in name):
            raise RequestError("a token name is at most 100 printable characters")
        secret = new_secret()
        await self._storage.add_token(
            hash_secret(secret), " ".join(grants), ",".join(wanted), time.time(), name=name, expires=expires
        )
        return ApiToken(address, secret, ca).format()

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
        row = await self._storage.token(digest)
        if row is None:
            raise Unauthorized("unknown or revoked API token")
        grants, scopes, expires, _ = row
        now = time.time()
        if expires is not None and now >= expires:
            raise Unauthorized(
                "this API token has expired; create a new one with `neptune-sync server token create`"
            )
        if now - self._used.get(digest, 0.0) >= USED_EVERY:
            self._used[digest] = now
            await self._storage.token_used(digest, now)
        return Principal(frozenset(grants.split()), frozenset(scopes.split(",")))
