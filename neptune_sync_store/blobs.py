"""Blob endpoints: ``HEAD`` (exists? how much of an upload arrived?), ``PUT`` (resumable), ``GET``.

Blobs are shared by content across projects: uploading needs a write scope, reading a read scope,
on any project (knowing a sha256 means knowing the content).
"""

from __future__ import annotations

import logging

from aiohttp import web

from .auth import READ, WRITE
from .context import context
from .errors import NotFound, RequestError, TooLarge

log = logging.getLogger(__name__)


async def head_blob(request: web.Request) -> web.Response:
    ctx = context(request)
    await ctx.auth.principal(request)  # any valid token may ask whether content exists
    sha = request.match_info["sha256"]
    size = ctx.blobs.size(sha)
    if size is not None:
        return web.Response(status=200, headers={"Content-Length": str(size), "X-Blob-Size": str(size)})
    return web.Response(status=404, headers={"X-Upload-Offset": str(ctx.blobs.received(sha))})


async def put_blob(request: web.Request) -> web.Response:
    ctx = context(request)
    (await ctx.auth.principal(request)).require_any(WRITE)
    sha = request.match_info["sha256"]
    ctx.blobs.path_of(sha)  # 400 for a name that is not a sha256, before anything else
    size = _header_int(request, "X-Blob-Size", None)
    offset = _header_int(request, "X-Upload-Offset", 0)
    if size > ctx.settings.max_blob:
        raise TooLarge(f"blob of {size} bytes exceeds the limit of {ctx.settings.max_blob}")
    if ctx.blobs.has(sha):
        return web.Response(status=200, headers={"X-Upload-Offset": str(size)})
    with ctx.upload_slots.take():
        try:
            received = await ctx.blobs.receive(sha, size, offset, request.content.iter_chunked(1 << 20))
        except ConnectionResetError:  # the uploader went away: the next upload resumes the partial
            log.info("upload of %s cut off at %d bytes", sha, ctx.blobs.received(sha))
            raise RequestError("upload cut off; resume from the offset HEAD reports") from None
    status = 201 if received == size else 202
    return web.Response(status=status, headers={"X-Upload-Offset": str(received)})


async def get_blob(request: web.Request) -> web.StreamResponse:
    ctx = context(request)
    (await ctx.auth.principal(request)).require_any(READ)
    path = ctx.blobs.path_of(request.match_info["sha256"])
    if not path.is_file():
        raise NotFound(f"no blob {path.name}")
    return web.FileResponse(path, headers={"Content-Type": "application/octet-stream"})


def _header_int(request: web.Request, name: str, default: int | None) -> int:
    raw = request.headers.get(name)
    if raw is None:
        if default is None:
            raise RequestError(f"header {name} is required")
        return default
    if not raw.isdigit():
        raise RequestError(f"header {name} must be a non-negative integer, got {raw!r}")
    return int(raw)
