"""Reads for the web app: the projects a token may read, a project's field paths, bucketed series.

Same rules as :mod:`.reads`: a token with the read scope on the project, 400 naming the parameter
and the rule for bad input.
"""

from __future__ import annotations

import asyncio
import math

from aiohttp import web

from .auth import READ
from .context import context, json_response, query_bool, query_float, query_int
from .errors import RequestError
from .reads import project_of
from .storage.aggregate import MAX_BUCKETS, X_AXES, SeriesBuckets

MAX_RUNS = 20  # runs overlaid in one chart (compare)
MAX_PATHS = 20  # series per request (a page asks in several requests)
DEFAULT_BUCKETS = 1000


async def get_projects(request: web.Request) -> web.Response:
    """The projects this token may read: those it names, and those of its workspaces holding runs."""
    principal = await context(request).auth.principal(request)
    if READ not in principal.scopes:
        return json_response([])
    storage = context(request).storage
    named = {g for g in principal.grants if not g.endswith("/*")}
    if len(named) < len(principal.grants):
        named.update(p for p in await storage.projects() if principal.covers(p))
    return json_response([await storage.project_summary(p) for p in sorted(named)])


async def get_project_fields(request: web.Request) -> web.Response:
    project = await project_of(request)
    return json_response(await context(request).storage.project_fields(project))


async def get_buckets(request: web.Request) -> web.Response:
    """Bucketed float series for runs x paths; pairs that are not a float series are left out."""
    project = await project_of(request)
    idents, paths = _listed(request, "run", MAX_RUNS), _listed(request, "path", MAX_PATHS)
    x = request.query.get("x") or "step"
    if x not in X_AXES:
        raise RequestError(f"query parameter 'x' must be one of {X_AXES}, got {x!r}")
    start, stop = query_float(request, "start", -math.inf), query_float(request, "stop", math.inf)
    if math.isnan(start) or math.isnan(stop):
        raise RequestError("query parameters 'start' and 'stop' must be numbers, not NaN")
    buckets = query_int(request, "buckets", DEFAULT_BUCKETS, low=1, high=MAX_BUCKETS)
    sample, snap = query_bool(request, "sample"), query_bool(request, "snap")
    if sample and x != "step":
        raise RequestError("query parameter 'sample' needs x=step (points are found by step)")
    storage = context(request).storage
    runs = [r for r in await asyncio.gather(*(storage.find_run(project, i) for i in idents)) if r]
    reads = [
        storage.series_buckets(
            project, run.run_key, path, x=x, start=start, stop=stop, buckets=buckets, sample=sample, snap=snap
        )
        for run in runs
        for path in paths
    ]
    found = await asyncio.gather(*reads)
    return json_response([s for s in found if isinstance(s, SeriesBuckets)])


def _listed(request: web.Request, name: str, most: int) -> list[str]:
    """A repeated query parameter: 1 to ``most`` distinct non-empty values, in order."""
    values = list(dict.fromkeys(v for v in request.query.getall(name, []) if v))
    if not 1 <= len(values) <= most:
        raise RequestError(f"query parameter {name!r} must be given 1 to {most} times, got {len(values)}")
    return values
