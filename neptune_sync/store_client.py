"""A small synchronous client of the store's read API, for ``fetch*`` / ``download*`` / runs tables.

Stdlib (urllib) + msgspec only, so the training import path stays light; the daemon has its own
asynchronous client for the sync protocol. Every request has a timeout. Errors: 401 / 403 raise
:class:`AuthError`, a missing field :class:`MissingFieldError`, an answer that does not decode
:class:`ProtocolError`, anything else :class:`StoreError`
with the store's message.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from .exceptions import AuthError, MissingFieldError, NeptuneInvalidQueryException, ProtocolError, StoreError
from .tls import client_context
from .wire.protocol import (
    ClearResult,
    FieldInfo,
    FieldValue,
    RunRecord,
    RunsTable,
    SeriesPage,
    TablePage,
    TrashRequest,
    TrashResult,
)
from .wire.token import parse_token

DEFAULT_TIMEOUT = 30.0
PAGE = 100_000


class StoreClient:
    """Reads from a store at ``address`` with an API token (see :func:`neptune_sync.wire.token.parse_token`)."""

    def __init__(self, address: str, token: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.address = address.rstrip("/")
        self._auth = {"Authorization": f"Bearer {token}"}
        self.timeout = timeout
        self._tls = client_context(token) if self.address.startswith("https:") else None

    @classmethod
    def from_token(cls, token: str, *, timeout: float = DEFAULT_TIMEOUT) -> StoreClient:
        """A client for the store a self-describing token names."""
        return cls(parse_token(token).address, token, timeout=timeout)

    def find_run(self, project: str, run: str) -> RunRecord | None:
        """The run whose run_key, run_id or custom_run_id is ``run``, or None."""
        try:
            return self._get_json("/v1/run", {"project": project, "run": run}, RunRecord)
        except _NotFound:
            return None

    def structure(self, project: str, run: str) -> list[FieldInfo]:
        """Every field of a run (path and type), sorted by path."""
        return self._get_json("/v1/run/structure", {"project": project, "run": run}, list[FieldInfo])

    def values(self, project: str, run: str, paths: Iterable[str] = ()) -> dict[str, FieldValue]:
        """Values of the given fields that exist (every field if none given); datetimes are parsed."""
        params = [("project", project), ("run", run), *(("path", p) for p in paths)]
        found = self._get_json("/v1/run/values", params, list[FieldValue])
        return {v.path: _typed(v) for v in found}

    def series(
        self,
        project: str,
        run: str,
        path: str,
        *,
        start: float | None = None,
        stop: float | None = None,
        page: int = PAGE,
    ) -> Iterator[tuple[float, Any, float]]:
        """(step, value, ts) of a series in step order, fetched ``page`` points at a time."""
        after: float | None = None
        while True:
            params = {"project": project, "run": run, "path": path, "limit": page}
            params |= {k: v for k, v in (("start", start), ("stop", stop), ("after", after)) if v is not None}
            try:
                got = self._get_json("/v1/run/series", params, SeriesPage)
            except _NotFound:
                raise MissingFieldError(path) from None
            yield from ((p.step, p.value, p.ts) for p in got.points)
            if got.next_after is None:
                return
            after = got.next_after

    def runs_table(
        self,
        project: str,
        *,
        columns: Iterable[str] = (),
        where: Iterable[str] = (),
        tags: Iterable[str] = (),
        state: str | None = None,
        sort_by: str | None = None,
        ascending: bool = False,
        limit: int | None = None,
    ) -> RunsTable:
        """Runs of a project; ``where`` items are ``"<path><op><value>"`` (op: == != > >= < <=)."""
        params: list[tuple[str, Any]] = [("project", project), ("ascending", str(ascending).lower())]
        if columns:
            params.append(("columns", ",".join(columns)))
        params += [("where", w) for w in where] + [("tag", t) for t in tags]
        params += [
            (k, v) for k, v in (("state", state), ("sort_by", sort_by), ("limit", limit)) if v is not None
        ]
        return self._get_json("/v1/runs", params, RunsTable)

    def table(
        self,
        project: str,
        *,
        kind: str = "run",
        query: str = "",
        ids: Iterable[str] = (),
        states: Iterable[str] = (),
        owners: Iterable[str] = (),
        tags: Iterable[str] = (),
        columns: Iterable[str] | None = None,
        trashed: bool | None = False,
        sort_by: str | None = None,
        ascending: bool = False,
        limit: int = 100,
        offset: int = 0,
    ) -> TablePage:
        """One page of containers of ``kind`` (``GET /v1/table``); datetimes are parsed.

        ``columns`` None: every field; ``trashed`` None: trashed and not. A query the store cannot
        run raises :class:`NeptuneInvalidQueryException` naming the column.
        """
        params: list[tuple[str, Any]] = [("project", project), ("kind", kind), ("query", query)]
        params += [("id", i) for i in ids] + [("state", s) for s in states]
        params += [("owner", o) for o in owners] + [("tag", t) for t in tags]
        params += [("column", c) for c in columns or ()]
        params += [("trashed", "any" if trashed is None else str(trashed).lower())]
        params += [("ascending", str(ascending).lower()), ("limit", limit), ("offset", offset)]
        if sort_by:
            params.append(("sort_by", sort_by))
        page = self._get_json("/v1/table", params, TablePage)
        rows = [msgspec.structs.replace(r, fields=[_typed(v) for v in r.fields]) for r in page.rows]
        return TablePage(rows, page.total)

    def trash(self, project: str, ids: Iterable[str]) -> TrashResult:
        """Move containers (by ``sys/id``) to the trash."""
        body = msgspec.json.encode(TrashRequest(project, list(ids)))
        return self._post_json("/v1/trash", body, TrashResult)

    def restore(self, project: str, ids: Iterable[str]) -> TrashResult:
        """Take containers (by ``sys/id``) out of the trash."""
        body = msgspec.json.encode(TrashRequest(project, list(ids)))
        return self._post_json("/v1/trash/restore", body, TrashResult)

    def clear_trash(self, project: str, ids: Iterable[str] | None = None) -> int:
        """Delete the project's trashed containers (only ``ids``, if given) for good; returns how many."""
        body = msgspec.json.encode(TrashRequest(project, None if ids is None else list(ids)))
        return self._post_json("/v1/trash/clear", body, ClearResult).deleted

    def download_blob(self, sha256: str, dest: str | os.PathLike[str], project: str | None = None) -> Path:
        """Stream a blob of ``project`` into ``dest`` (written under a temporary name, then renamed);
        ``project`` may be left out when the token grants exactly one."""
        params = [("project", project)] if project else []
        return self._download(f"/v1/blobs/{sha256}", params, Path(dest))

    def download_file(self, project: str, run: str, path: str, dest: str | os.PathLike[str]) -> Path:
        """Stream the content of a File field into ``dest``."""
        try:
            return self._download(
                "/v1/run/file", [("project", project), ("run", run), ("path", path)], Path(dest)
            )
        except _NotFound:
            raise MissingFieldError(path) from None

    # --- plumbing ---

    def _open(self, route: str, params: Any, body: bytes | None = None) -> Any:
        query = urllib.parse.urlencode(params, doseq=False)
        headers = self._auth | ({"Content-Type": "application/json"} if body is not None else {})
        request = urllib.request.Request(f"{self.address}{route}?{query}", data=body, headers=headers)
        try:
            return urllib.request.urlopen(request, timeout=self.timeout, context=self._tls)
        except urllib.error.HTTPError as exc:
            raise _error(exc) from None
        except (urllib.error.URLError, OSError) as exc:
            raise StoreError(f"cannot reach the store at {self.address}: {exc}") from None

    def _get_json(self, route: str, params: Any, type_: Any) -> Any:
        with self._open(route, params) as response:
            return self._decode(route, response.read(), type_)

    def _post_json(self, route: str, body: bytes, type_: Any) -> Any:
        with self._open(route, [], body) as response:
            return self._decode(route, response.read(), type_)

    @staticmethod
    def _decode(route: str, body: bytes, type_: Any) -> Any:
        try:
            return msgspec.json.decode(body, type=type_)
        except msgspec.DecodeError as exc:
            raise ProtocolError(f"unexpected response from {route}: {exc}") from None

    def _download(self, route: str, params: Any, dest: Path) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.part")
        with self._open(route, params) as response, open(tmp, "wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
        os.replace(tmp, dest)
        return dest


class _NotFound(StoreError):
    pass


def _error(exc: urllib.error.HTTPError) -> StoreError | NeptuneInvalidQueryException:
    code = ""
    try:
        answer = json.loads(exc.read())
        message, code = answer.get("message", exc.reason), answer.get("error", "")
    except (ValueError, AttributeError):
        message = exc.reason
    if code == "bad_query":
        return NeptuneInvalidQueryException(message)
    if exc.code in (401, 403):
        return AuthError(f"store refused the API token ({exc.code}): {message}")
    if exc.code == 404:
        return _NotFound(message)
    return StoreError(f"store answered {exc.code}: {message}")


def _typed(value: FieldValue) -> FieldValue:
    if value.type == "datetime" and isinstance(value.value, str):
        parsed = dt.datetime.fromisoformat(value.value.replace("Z", "+00:00"))
        return msgspec.structs.replace(value, value=parsed)
    return value
