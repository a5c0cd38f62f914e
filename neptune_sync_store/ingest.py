"""The sync protocol endpoints (docs/sync-protocol.md): ``POST /v1/batches`` and ``GET /v1/acked``.

Order of checks on a batch, each failing before anything is stored: token (401), body size (413),
in-flight limit (429), protocol version, msgpack shape (400), project and scope (403), batch rules
(400), referenced blobs present (409) and of the sizes the references give (400). Only then is the
batch applied, atomically.
"""

from __future__ import annotations

import time

import msgspec
from aiohttp import web

from neptune_sync.wire.ops import blob_refs
from neptune_sync.wire.protocol import (
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    AckResponse,
    BatchRequest,
    batch_request_decoder,
)

from .auth import WRITE
from .blobgc import BlobLock
from .canonical import without_negative_zero
from .context import StoreContext, context, msgpack_response, query_str
from .errors import Conflict, RequestError, TooLarge
from .validation import check_batch, check_project

MAX_MISSING_LISTED = 20


async def post_batch(request: web.Request) -> web.Response:
    ctx = context(request)
    principal = await ctx.auth.principal(request)
    limit = ctx.config.max_body
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"batch body of {request.content_length} bytes exceeds the limit of {limit}")
    with ctx.ingest_slots.take():
        _check_version(request)
        body = await request.read()
        req = _decode(body)
        principal.require(req.run.project, WRITE)
        check_batch(req)
        await _check_blobs(ctx, req)
        return msgpack_response(await ctx.storage.apply_batch(without_negative_zero(req, body)))


async def get_acked(request: web.Request) -> web.Response:
    ctx = context(request)
    principal = await ctx.auth.principal(request)
    project = query_str(request, "project")
    check_project(project)
    principal.require(project, None)
    seq = await ctx.storage.acked_seq(project, query_str(request, "run_key"), query_str(request, "writer_id"))
    return msgpack_response(AckResponse(seq))


def _check_version(request: web.Request) -> None:
    sent = request.headers.get(PROTOCOL_HEADER)
    if sent is not None and sent != str(PROTOCOL_VERSION):
        raise RequestError(
            f"protocol version {sent!r} is not supported; this store speaks {PROTOCOL_VERSION}"
        )


def _decode(body: bytes) -> BatchRequest:
    try:
        return batch_request_decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise RequestError(f"batch does not match the protocol: {exc}") from None
    except msgspec.DecodeError as exc:
        raise RequestError(f"batch body is not valid msgpack: {exc}") from None


async def _check_blobs(ctx: StoreContext, req: BatchRequest) -> None:
    """409 listing the referenced blobs the run's project does not hold; 400 for a reference whose
    size is not the stored blob's (the content is named by its hash, so its size is known).

    Content another project holds counts as missing (blobs are scoped by project). The blobs held
    are touched under the collection lock, so collection spares them until the batch is applied."""
    refs = [(e.seq, ref) for e in req.entries for ref in blob_refs(e.op)]
    if not refs:
        return
    project = req.run.project
    sizes: dict[str, int | None] = {}
    async with BlobLock(ctx.config.gc_lock).shared():
        for sha in {ref.sha256 for _, ref in refs}:
            owned = await ctx.storage.owns_blob(project, sha)
            sizes[sha] = await ctx.blobs.size(sha) if owned else None
            if sizes[sha] is not None:
                await ctx.storage.own_blob(project, sha, time.time())
    for seq, ref in refs:
        held = sizes[ref.sha256]
        if held is not None and held != ref.size:
            raise RequestError(
                f"seq {seq}: file size {ref.size} is not the {held} bytes of blob {ref.sha256}"
            )
    missing = sorted(sha for sha, size in sizes.items() if size is None)
    if missing:
        shown = ", ".join(missing[:MAX_MISSING_LISTED])
        raise Conflict(
            f"{len(missing)} referenced blob(s) not uploaded yet: {shown}; upload them, then re-send"
        )
