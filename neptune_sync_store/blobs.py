"""Blob endpoints: ``HEAD`` (held? how much of an upload arrived?), ``PUT`` (resumable), ``GET``.

Blobs are deduplicated by content but scoped by project: a project sees a blob only once one of
its tokens uploaded the content (``blob_owners``). Every endpoint takes ``project`` (optional when
the token grants exactly one). HEAD and GET answer as if content another project holds did not
exist, and an upload of such content takes every byte and verifies it before the project gets it,
so no response tells whether content exists elsewhere. Partial uploads are kept per project
(their progress is not shared either), bounded in bytes per project, and expire when abandoned.
"""

from __future__ import annotations

import hashlib
import logging
import time

from aiohttp import web

from .auth import READ, WRITE
from .blob_backends import check_name
from .blobgc import BlobLock
from .context import StoreContext, context
from .errors import NotFound, RequestError, TooLarge
from .files import OCTET, SAFE_HEADERS
from .validation import check_project

log = logging.getLogger(__name__)


def partial_owner(project: str) -> str:
    """The owner name of a project's partial uploads (a directory or key prefix of the backend)."""
    return hashlib.sha256(project.encode()).hexdigest()[:16]


async def _project(request: web.Request, scope: str | None) -> tuple[StoreContext, str, str]:
    """(context, project, sha256) of a blob request, after its token and names are checked."""
    ctx = context(request)
    principal = await ctx.auth.principal(request)  # 401 before any 400
    project = request.query.get("project") or principal.only_project()
    if project is None:
        raise RequestError(
            f"query parameter 'project' is required: this token grants several ({principal.shown})"
        )
    check_project(project)
    principal.require(project, scope)
    return ctx, project, check_name(request.match_info["sha256"])


async def _held(ctx: StoreContext, project: str, sha: str) -> int | None:
    """The blob's size if ``project`` holds it, else None."""
    if not await ctx.storage.owns_blob(project, sha):
        return None
    return await ctx.blobs.size(sha)


async def _claim(ctx: StoreContext, project: str, sha: str) -> int | None:
    """The blob's size if ``project`` holds it, touched so that collection spares it for the batch
    that may follow; else None. Under the lock collection deletes under: no deletion in between."""
    async with BlobLock(ctx.config.gc_lock).shared():
        size = await _held(ctx, project, sha)
        if size is not None:
            await ctx.storage.own_blob(project, sha, time.time())
        return size


async def head_blob(request: web.Request) -> web.Response:
    ctx, project, sha = await _project(request, None)
    size = await _claim(ctx, project, sha)
    if size is not None:
        return web.Response(status=200, headers={"Content-Length": str(size), "X-Blob-Size": str(size)})
    received = await ctx.blobs.received(sha, partial_owner(project))
    return web.Response(status=404, headers={"X-Upload-Offset": str(received)})


async def put_blob(request: web.Request) -> web.Response:
    ctx, project, sha = await _project(request, WRITE)
    size = _header_int(request, "X-Blob-Size", None)
    offset = _header_int(request, "X-Upload-Offset", 0)
    if size > ctx.config.max_blob:
        raise TooLarge(f"blob of {size} bytes exceeds the limit of {ctx.config.max_blob}")
    if await _claim(ctx, project, sha) is not None:
        return web.Response(status=200, headers={"X-Upload-Offset": str(size)})
    owner = partial_owner(project)
    await _check_partial_quota(ctx, project, owner, sha, size)
    # a request that may complete the upload commits under the lock garbage collection deletes under
    length = request.content_length
    completes = length is None or offset + length >= size
    with ctx.upload_slots.take():
        async with BlobLock(ctx.config.gc_lock).shared(enabled=completes):
            try:
                received = await ctx.blobs.receive(
                    sha, size, offset, request.content.iter_chunked(1 << 20), owner
                )
            except ConnectionResetError:  # the uploader went away: the next upload resumes the partial
                log.info("upload of %s cut off", sha)
                raise RequestError("upload cut off; resume from the offset HEAD reports") from None
            if received == size:
                await ctx.storage.own_blob(project, sha, time.time())
    status = 201 if received == size else 202
    return web.Response(status=status, headers={"X-Upload-Offset": str(received)})


async def _check_partial_quota(ctx: StoreContext, project: str, owner: str, sha: str, size: int) -> None:
    """Expire the project's abandoned partials, then refuse an upload its partial bytes cannot hold."""
    now = time.time()
    held = 0
    for partial in await ctx.blobs.partials(owner):
        if now - partial.last_write > ctx.config.partial_ttl:
            await ctx.blobs.drop_partial(partial.sha256, owner)
        elif partial.sha256 != sha:
            held += partial.received
    limit = ctx.config.max_partial
    if held + size > limit:
        raise TooLarge(
            f"project {project!r} has {held} bytes of unfinished uploads; with this blob of {size} bytes"
            f" they would exceed the limit of {limit} (finish them, or they expire"
            f" {ctx.config.partial_ttl:.0f} s after their last byte)"
        )


async def get_blob(request: web.Request) -> web.StreamResponse:
    ctx, project, sha = await _project(request, READ)
    if not await ctx.storage.owns_blob(project, sha):
        raise NotFound(f"project {project!r} holds no blob {sha}")
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
    if not raw.isdigit() or not raw.isascii() or len(raw) > 20:
        raise RequestError(f"header {name} must be a non-negative integer, got {raw!r}")
    return int(raw)
