"""Blob endpoints: ``HEAD`` (exists? how much of an upload arrived?), ``PUT`` (resumable), ``GET``.

Blobs are shared by content across projects: uploading needs a write scope, reading a read scope,
on any project (knowing a sha256 means knowing the content).
"""

from __future__ import annotations

import logging

from aiohttp import web

from .auth import READ, WRITE
from .blobstore import check_name
from .context import context
from .errors import NotFound, RequestError, TooLarge
from .files import OCTET, SAFE_HEADERS

log = logging.getLogger(__name__)


async def head_blob(request: web.Request) -> web.Response:
    ctx = context(request)
    await ctx.auth.principal(request)  # any valid token may ask whether content exists
    sha = check_name(request.match_info["sha256"])
    size = await ctx.blobs.size(sha)
    if size is not None:
        return web.Response(status=200, headers={"Content-Length": str(size), "X-Blob-Size": str(size)})
    return web.Response(status=404, headers={"X-Upload-Offset": str(await ctx.blobs.received(sha))})


async def put_blob(request: web.Request) -> web.Response:
    ctx = context(request)
    (await ctx.auth.principal(request)).require_any(WRITE)
    sha = check_name(request.match_info["sha256"])  # 400 for a name that is not a sha256, first
    size = _header_int(request, "X-Blob-Size", None)
    offset = _header_int(request, "X-Upload-Offset", 0)
    if size > ctx.settings.max_blob:
        raise TooLarge(f"blob of {size} bytes exceeds the limit of {ctx.settings.max_blob}")
    if await ctx.blobs.size(sha) is not None:
        return web.Response(status=200, headers={"X-Upload-Offset": str(size)})
    with ctx.upload_slots.take():
        try:
            received = await ctx.blobs.receive(sha, size, offset, request.content.iter_chunked(1 << 20))
        except ConnectionResetError:  # the uploader went away: the next upload resumes the partial
            log.info("upload of %s cut off", sha)
            raise RequestError("upload cut off; resume from the offset HEAD reports") from None
    status = 201 if received == size else 202
    return web.Response(status=status, headers={"X-Upload-Offset": str(received)})


async def get_blob(request: web.Request) -> web.StreamResponse:
    ctx = context(request)
    (await ctx.auth.principal(request)).require_any(READ)
    sha = check_name(request.match_info["sha256"])
    return await blob_response(request, sha, sha, {"Content-Type": OCTET, **SAFE_HEADERS}, download=True)


async def blob_response(
    request: web.Request, sha: str, filename: str, headers: dict[str, str], *, download: bool
) -> web.StreamResponse:
    """Serve a committed blob: a redirect to a presigned URL for a download when the backend gives
    one, a file response for a local blob, else the bytes streamed from the backend."""
    blobs = context(request).blobs
    if download:
        url = await blobs.download_url(sha, filename)
        if url is not None:
            raise web.HTTPFound(url, headers={"Cache-Control": "no-store"})
    path = blobs.file_path(sha)
    if path is not None:
        if not path.is_file():
            raise NotFound(f"no blob {sha}")
        return web.FileResponse(path, headers=headers)
    size = await blobs.size(sha)
    if size is None:
        raise NotFound(f"no blob {sha}")
    response = web.StreamResponse(headers=headers)
    response.content_length = size
    await response.prepare(request)
    async for chunk in blobs.read(sha):
        await response.write(chunk)
    await response.write_eof()
    return response


def _header_int(request: web.Request, name: str, default: int | None) -> int:
    raw = request.headers.get(name)
    if raw is None:
        if default is None:
            raise RequestError(f"header {name} is required")
        return default
    if not raw.isdigit():
        raise RequestError(f"header {name} must be a non-negative integer, got {raw!r}")
    return int(raw)
