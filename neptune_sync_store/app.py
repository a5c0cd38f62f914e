"""The aiohttp application: routes, the error middleware and limits (docs/openapi.yaml describes it)."""

from __future__ import annotations

import logging

from aiohttp import web

from neptune_sync.wire.protocol import PROTOCOL_VERSION, ErrorBody

from . import blobs, browse, ingest, reads, tables, webapp
from .auth import TokenAuth
from .blob_backends import BlobBackend
from .config import StoreConfig
from .context import CONTEXT, StoreContext, json_response
from .errors import RequestError
from .outage import is_outage
from .storage import Storage

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
}
_CODES |= {409: "conflict", 413: "too_large", 422: "unprocessable", 429: "overloaded"}


@web.middleware
async def errors_as_json(request: web.Request, handler: web.Handler) -> web.StreamResponse:
    """Every refusal becomes an ``ErrorBody``; an unexpected error is logged and is a 500."""
    try:
        return await handler(request)
    except RequestError as exc:
        response = json_response(ErrorBody(exc.code, str(exc)), status=exc.status)
        response.headers.update(exc.headers)
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
        if exc.status == 413:
            message = f"request body exceeds the limit of {request.app[CONTEXT].config.max_body} bytes"
        response = json_response(ErrorBody(_CODES.get(exc.status, "error"), message), status=exc.status)
        for name in ("Allow", "Retry-After"):
            if name in exc.headers:
                response.headers[name] = exc.headers[name]
        return response
    except Exception as exc:  # nothing was applied (batches are atomic)
        config = request.app[CONTEXT].config
        if is_outage(exc):  # storage down or full: retry later, the request is not at fault
            log.error("%s %s: storage unavailable: %s", request.method, request.path, exc)
            response = json_response(
                ErrorBody("unavailable", f"storage unavailable: {exc}; retry later"), status=503
            )
            response.headers["Retry-After"] = str(config.retry_after)
            return response
        log.exception("%s %s failed", request.method, request.path)  # a store bug
        return json_response(
            ErrorBody("internal", "the store failed on this request; re-sending it may fail again"),
            status=500,
        )


API_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
}
HSTS = {"Strict-Transport-Security": "max-age=31536000"}


def security_headers(tls: bool):  # type: ignore[no-untyped-def]
    """Headers on every response. No CORS header is ever sent: browsers on other origins may not
    read the API (the web app is served from the same origin)."""
    fixed = {**API_HEADERS, **(HSTS if tls else {})}

    async def add(request: web.Request, response: web.StreamResponse) -> None:
        for name, value in fixed.items():
            response.headers.setdefault(name, value)
        if request.path.startswith("/v1/"):
            response.headers.setdefault("Cache-Control", "no-store")

    return add


async def health(request: web.Request) -> web.Response:
    return json_response({"status": "ok", "protocol": PROTOCOL_VERSION})


def build_app(
    config: StoreConfig, storage: Storage, blob_backend: BlobBackend, *, tls: bool = False
) -> web.Application:
    """The application over an opened storage and blob backend (the caller opens and closes them)."""
    app = web.Application(client_max_size=config.max_body, middlewares=[errors_as_json])
    app.on_response_prepare.append(security_headers(tls))
    app[CONTEXT] = StoreContext(config, storage, TokenAuth(storage), blob_backend)
    app.router.add_get("/v1/health", health)
    app.router.add_post("/v1/batches", ingest.post_batch)
    app.router.add_get("/v1/acked", ingest.get_acked)
    app.router.add_route("HEAD", "/v1/blobs/{sha256}", blobs.head_blob)
    app.router.add_put("/v1/blobs/{sha256}", blobs.put_blob)
    app.router.add_get("/v1/blobs/{sha256}", blobs.get_blob, allow_head=False)
    app.router.add_get("/v1/run", reads.get_run)
    app.router.add_get("/v1/run/structure", reads.get_structure)
    app.router.add_get("/v1/run/values", reads.get_values)
    app.router.add_get("/v1/run/series", reads.get_series)
    app.router.add_get("/v1/run/file", reads.get_file)
    app.router.add_get("/v1/runs", tables.get_runs_table)
    app.router.add_get("/v1/table", tables.get_table)
    app.router.add_post("/v1/trash", tables.post_trash)
    app.router.add_post("/v1/trash/restore", tables.post_restore)
    app.router.add_post("/v1/trash/clear", tables.post_clear_trash)
    app.router.add_get("/v1/projects", browse.get_projects)
    app.router.add_get("/v1/project/fields", browse.get_project_fields)
    app.router.add_get("/v1/series/buckets", browse.get_buckets)
    webapp.add_routes(app)
    return app
