"""The read API (JSON): find a run, its structure, field values, series pages, file download, runs table.

Every endpoint takes ``project`` and needs a token with the read scope on it. ``run`` may be the
run_key, the run_id or the custom_run_id.
"""

from __future__ import annotations

import math
from urllib.parse import quote

from aiohttp import web

from neptune_sync.oplog.ops import FieldType
from neptune_sync.protocol import RunRecord, RunsTable

from . import query
from .auth import READ
from .context import context, json_response, query_float, query_int, query_str
from .errors import Conflict, NotFound, RequestError
from .storage.base import DEFAULT_PAGE, MAX_PAGE
from .validation import check_project

MAX_TABLE = 100_000


async def _project(request: web.Request) -> str:
    principal = await context(request).auth.principal(request)  # 401 before any 400
    project = query_str(request, "project")
    check_project(project)
    principal.require(project, READ)
    return project


async def _run(request: web.Request) -> RunRecord:
    project = await _project(request)
    ident = query_str(request, "run")
    run = await context(request).storage.find_run(project, ident)
    if run is None:
        raise NotFound(f"no run {ident!r} in project {project!r}")
    return run


async def get_run(request: web.Request) -> web.Response:
    return json_response(await _run(request))


async def get_structure(request: web.Request) -> web.Response:
    run = await _run(request)
    return json_response(await context(request).storage.field_infos(run.project, run.run_key))


async def get_values(request: web.Request) -> web.Response:
    run = await _run(request)
    paths = request.query.getall("path", [])
    return json_response(await context(request).storage.field_values(run.project, run.run_key, paths))


async def get_series(request: web.Request) -> web.Response:
    run = await _run(request)
    path = query_str(request, "path")
    page = await context(request).storage.series(
        run.project,
        run.run_key,
        path,
        start=query_float(request, "start", -math.inf),
        stop=query_float(request, "stop", math.inf),
        after=query_float(request, "after", -math.inf),
        limit=query_int(request, "limit", DEFAULT_PAGE, low=1, high=MAX_PAGE),
    )
    if page is None:
        raise NotFound(f"run {run.run_key!r} has no field {path!r}")
    if page.type not in (FieldType.FLOAT_SERIES, FieldType.STRING_SERIES, FieldType.FILE_SERIES):
        raise Conflict(f"{path!r} is a {page.type} field, not a series")
    return json_response(page)


async def get_file(request: web.Request) -> web.StreamResponse:
    """The content of a File field, named as it was uploaded."""
    run = await _run(request)
    path = query_str(request, "path")
    values = await context(request).storage.field_values(run.project, run.run_key, [path])
    if not values:
        raise NotFound(f"run {run.run_key!r} has no field {path!r}")
    if values[0].type != FieldType.FILE:
        raise Conflict(f"{path!r} is a {values[0].type} field, not a file")
    ref = values[0].value
    assert isinstance(ref, dict)
    blob = context(request).blobs.path_of(ref["sha256"])
    name = ref["name"] or (
        f"{path.rsplit('/', 1)[-1]}.{ref['extension']}" if ref["extension"] else path.rsplit("/", 1)[-1]
    )
    headers = {
        "Content-Type": "application/octet-stream",
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}",
    }
    return web.FileResponse(blob, headers=headers)


async def get_runs_table(request: web.Request) -> web.Response:
    project = await _project(request)
    q = request.query
    state = q.get("state") or None
    if state is not None and state not in query.STATES:
        raise RequestError(f"state must be one of {query.STATES}, got {state!r}")
    spec = query.RunsQuery(
        columns=[c for raw in q.getall("columns", []) for c in raw.split(",") if c],
        where=[query.parse_where(w) for w in q.getall("where", [])],
        tags=q.getall("tag", []),
        state=state,
        sort_by=q.get("sort_by") or None,
        ascending=q.get("ascending", "false").lower() in ("1", "true", "yes"),
        limit=query_int(request, "limit", 10_000, low=1, high=MAX_TABLE),
    )
    runs = await context(request).storage.runs_with_fields(project, spec.paths())
    return json_response(RunsTable(query.select(runs, spec)))
