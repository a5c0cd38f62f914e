"""Serve the built web app (``static/``, built from ``web/``) at ``/``.

The app is one page with hash routes, so the server only ever sees ``/`` and ``/assets/*``: view
state and run names stay in the browser. The page is locked down with a Content-Security-Policy:
scripts and data only from this origin, file previews only as ``blob:`` URLs.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).parent / "static"
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' blob: data:; frame-src blob:; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}  # asset names carry a content hash


async def index(request: web.Request) -> web.StreamResponse:
    page = STATIC / "index.html"
    if not page.is_file():
        raise web.HTTPNotFound(text="the web app is not built (cd web && npm ci && npm run build)")
    return web.FileResponse(page, headers={**PAGE_HEADERS, "Cache-Control": "no-cache"})


async def asset(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    path = STATIC / "assets" / name
    if "/" in name or name.startswith(".") or not path.is_file():
        raise web.HTTPNotFound(text=f"no asset {name!r}")
    return web.FileResponse(path, headers={**PAGE_HEADERS, **IMMUTABLE})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/assets/{name}", asset)
