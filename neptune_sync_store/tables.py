"""Tables and the trash over HTTP: ``GET /v1/table`` (any container kind, NQL), ``GET /v1/runs``
(the web app's runs table), ``POST /v1/trash``, ``/v1/trash/restore`` and ``/v1/trash/clear``.

Reads need the read scope on the project, the trash the write scope. Bad input is a 400 naming
the parameter (``bad_query`` for NQL, with the column).
"""

from __future__ import annotations

import time

import msgspec
from aiohttp import web

from neptune_sync.validation import MAX_PATH_LENGTH
from neptune_sync.wire.protocol import (
    ClearResult,
    RunRecord,
    RunRow,
    RunsTable,
    TablePage,
    TrashRequest,
    TrashResult,
)

from . import query
from .auth import WRITE
from .context import context, json_response, query_bool, query_int
from .errors import BadQuery, RequestError
from .reads import project_of
from .validation import check_project

MAX_TABLE = 100_000  # rows per page
MAX_COLUMNS = 200  # columns named in one request (docs/openapi.yaml); None names every field
MAX_IDS = 10_000  # ids in one trash request
KINDS = ("run", "model", "model_version", "project")


async def get_table(request: web.Request) -> web.Response:
    """A page of containers of one ``kind`` with typed values (neptune 1.x ``fetch_*_table``)."""
    project = await project_of(request)
    q = request.query
    kind = q.get("kind") or "run"
    if kind not in KINDS:
        raise RequestError(f"query parameter 'kind' must be one of {KINDS}, got {kind!r}")
    trashed = q.get("trashed") or "false"
    if trashed not in query.TRASHED:
        raise RequestError(
            f"query parameter 'trashed' must be one of {tuple(query.TRASHED)}, got {trashed!r}"
        )
    states = q.getall("state", [])
    for state in states:
        if state not in query.STATES:
            raise RequestError(f"query parameter 'state' must be one of {query.STATES}, got {state!r}")
    ids = [query.Compare("sys/id", "string", "=", i) for i in q.getall("id", [])]
    owners = [query.Compare("sys/owner", "string", "=", o) for o in q.getall("owner", [])]
    spec = query.TableQuery(
        project=project,
        kind=kind,
        filter=query.all_of(
            query.parse_nql(q.get("query", "")),
            query.any_of(ids),
            query.states_filter(states),
            query.any_of(owners),
            query.tags_filter(q.getall("tag", [])),
        ),
        trashed=query.TRASHED[trashed],
        columns=_columns(q.getall("column", [])),
        sort_by=q.get("sort_by") or None,
        ascending=query_bool(request, "ascending"),
        limit=query_int(request, "limit", 100, low=1, high=MAX_TABLE),
        offset=query_int(request, "offset", 0, low=0, high=2**31),
    )
    rows, total = await _page(request, spec)
    return json_response(TablePage(rows, total))


async def get_runs_table(request: web.Request) -> web.Response:
    """The web app's runs table: plain values, ``where`` / ``tag`` / ``state`` filters."""
    project = await project_of(request)
    q = request.query
    state = q.get("state") or None
    if state is not None and state not in query.STATES:
        raise RequestError(f"state must be one of {query.STATES}, got {state!r}")
    spec = query.TableQuery(
        project=project,
        filter=query.all_of(
            *(query.parse_where(w) for w in q.getall("where", [])),
            query.tags_filter(q.getall("tag", [])),
            query.states_filter([state] if state else []),
        ),
        columns=_columns([c for raw in q.getall("columns", []) for c in raw.split(",") if c]),
        sort_by=q.get("sort_by") or None,
        ascending=query_bool(request, "ascending"),
        limit=query_int(request, "limit", 10_000, low=1, high=MAX_TABLE),
        offset=query_int(request, "offset", 0, low=0, high=2**31),
    )
    rows, total = await _page(request, spec)
    table = RunsTable([RunRow(row.run, {v.path: v.value for v in row.fields}) for row in rows])
    response = json_response(table)
    response.headers["X-Total-Count"] = str(total)
    return response


async def post_trash(request: web.Request) -> web.Response:
    """Move containers to the trash: they leave every table (``trashed=false``) but keep their data."""
    body = await _trash_request(request, ids_required=True)
    found = await context(request).storage.trash(body.project, body.ids or [], time.time())
    return json_response(_result(body, found))


async def post_restore(request: web.Request) -> web.Response:
    """Take containers out of the trash."""
    body = await _trash_request(request, ids_required=True)
    return json_response(_result(body, await context(request).storage.restore(body.project, body.ids or [])))


async def post_clear_trash(request: web.Request) -> web.Response:
    """Delete the project's trashed containers (those named in ``ids``, if given) and all they hold."""
    body = await _trash_request(request, ids_required=False)
    return json_response(ClearResult(await context(request).storage.clear_trash(body.project, body.ids)))


def _result(body: TrashRequest, found: list[RunRecord]) -> TrashResult:
    named = {r.run_id for r in found} | {r.run_key for r in found}
    return TrashResult([r.run_id for r in found], [i for i in body.ids or () if i not in named])


async def _trash_request(request: web.Request, *, ids_required: bool) -> TrashRequest:
    principal = await context(request).auth.principal(request)
    try:
        body = msgspec.json.decode(await request.read(), type=TrashRequest)
    except msgspec.DecodeError as exc:
        raise RequestError(f'body must be {{"project": str, "ids": [str]}}: {exc}') from None
    check_project(body.project)
    principal.require(body.project, WRITE)
    if body.ids is None and ids_required:
        raise RequestError("'ids' is required: the containers to move, by sys/id")
    if body.ids is not None and len(body.ids) > MAX_IDS:
        raise RequestError(f"'ids' holds at most {MAX_IDS} ids, got {len(body.ids)}")
    return body


async def _page(request: web.Request, spec: query.TableQuery) -> tuple[list, int]:
    try:
        return await context(request).storage.table_page(spec)
    except Exception as exc:  # a pattern PostgreSQL's regular expressions refuse
        if _is_bad_regex(exc):
            raise BadQuery(f"MATCHES: the store cannot use the pattern: {exc}") from None
        raise


def _is_bad_regex(exc: Exception) -> bool:
    return getattr(exc, "sqlstate", None) == "2201B"  # PostgreSQL: invalid_regular_expression


def _columns(columns: list[str]) -> list[str]:
    if len(columns) > MAX_COLUMNS:
        raise RequestError(f"column: at most {MAX_COLUMNS} columns, got {len(columns)}")
    for path in columns:
        if len(path) > MAX_PATH_LENGTH:
            raise RequestError(f"column: a field path has at most {MAX_PATH_LENGTH} characters, got {len(path)}")
    return list(dict.fromkeys(columns))
