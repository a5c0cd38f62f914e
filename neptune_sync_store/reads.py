"""The read API (JSON): find a run, its structure, field values, series pages, file content.

Every endpoint takes ``project`` and needs a token with the read scope on it. ``run`` may be the
run_key, the run_id or the custom_run_id.
"""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web

from neptune_sync.messages import a
from neptune_sync.wire.ops import FieldType
from neptune_sync.wire.protocol import FieldValue, RunRecord

from . import files
from .auth import READ
from .blob_backends import check_name
from .blobs import blob_response
from .context import context, json_response, query_bool, query_float, query_int, query_str
from .errors import Conflict, NotFound, RequestError
from .storage.base import DEFAULT_PAGE, MAX_PAGE
from .validation import check_project


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
        raise Conflict(f"{path!r} is {a(page.type + ' field')}, not a series")
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
    sha = check_name(ref["sha256"])
    if not await ctx.storage.owns_blob(run.project, sha) or await ctx.blobs.size(sha) is None:
        raise NotFound(f"the content of {path!r} (sha256 {sha}) has not been uploaded")
    inline = query_bool(request, "inline")
    name = files.file_name(path, ref)
    headers = files.content_headers(name, inline)
    return await blob_response(request, sha, name, headers, download=not inline)


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
        raise Conflict(f"{held.path!r} is {a(held.type + ' field')}, not a file, fileSeries or fileSet")
    assert isinstance(ref, dict)
    return ref
