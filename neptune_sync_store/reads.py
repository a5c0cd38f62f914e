"""The read API (JSON): find a run, its structure, field values, series pages, file content, runs table.

Every endpoint takes ``project`` and needs a token with the read scope on it. ``run`` may be the
run_key, the run_id or the custom_run_id.
"""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web

from neptune_sync.oplog.ops import FieldType
from neptune_sync.protocol import FieldValue, RunRecord, RunRow, RunsTable

from . import files, query
from .auth import READ
from .context import context, json_response, query_bool, query_float, query_int, query_str
from .errors import Conflict, NotFound, RequestError
from .storage.base import DEFAULT_PAGE, MAX_PAGE
from .validation import check_project

MAX_TABLE = 100_000


async def project_of(request: web.Request) -> str:
    principal = await context(request).auth.principal(request)  # 401 before any 400
    project = query_str(request, "project")
    check_project(project)
    principal.require(project, READ)
    return project


async def _run(request: web.Request) -> RunRecord:
    project = await project_of(request)
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
    """The content of a file: a File field, one step of a FileSeries or one member of a FileSet."""
    run = await _run(request)
    path = query_str(request, "path")
    values = await context(request).storage.field_values(run.project, run.run_key, [path])
    if not values:
        raise NotFound(f"run {run.run_key!r} has no field {path!r}")
    ref = await _file_ref(request, run, values[0])
    ctx = context(request)
    blob = ctx.blobs.path_of(ref["sha256"])
    if not await ctx.storage.owns_blob(run.project, ref["sha256"]) or not blob.is_file():
        raise NotFound(f"the content of {path!r} (sha256 {ref['sha256']}) has not been uploaded")
    inline = query_bool(request, "inline")
    return web.FileResponse(blob, headers=files.content_headers(files.file_name(path, ref), inline))


async def _file_ref(request: web.Request, run: RunRecord, held: FieldValue) -> dict[str, Any]:
    if held.type == FieldType.FILE:
        ref = held.value
    elif held.type == FieldType.FILE_SERIES:
        step = query_float(request, "step", math.nan)
        if math.isnan(step):
            raise RequestError(f"{held.path!r} is a fileSeries: query parameter 'step' is required")
        page = await context(request).storage.series(
            run.project, run.run_key, held.path, start=step, stop=step, after=-math.inf, limit=1
        )
        if page is None or not page.points:
            raise NotFound(f"{held.path!r} has no file at step {step}")
        ref = page.points[0][1]
    elif held.type == FieldType.FILE_SET:
        member = query_str(request, "member")
        ref = (held.value or {}).get(member)
        if ref is None:
            raise NotFound(f"file set {held.path!r} has no file {member!r}")
    else:
        raise Conflict(f"{held.path!r} is a {held.type} field, not a file, fileSeries or fileSet")
    assert isinstance(ref, dict)
    return ref


async def get_runs_table(request: web.Request) -> web.Response:
    project = await project_of(request)
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
        ascending=query_bool(request, "ascending"),
        limit=query_int(request, "limit", 10_000, low=1, high=MAX_TABLE),
        offset=query_int(request, "offset", 0, low=0, high=2**31),
    )
    storage = context(request).storage
    # select on the few paths filters and sorting read, then load the columns of one page only
    page, total = query.select(await storage.runs_with_fields(project, spec.filter_paths()), spec)
    values = await storage.fields_of_runs(project, [run.run_key for run in page], spec.columns)
    rows = [RunRow(run, {p: v.value for p, v in values.get(run.run_key, {}).items()}) for run in page]
    response = json_response(RunsTable(rows))
    response.headers["X-Total-Count"] = str(total)
    return response
