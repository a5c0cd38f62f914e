"""Starting and stopping a store: storage, application and listening socket, as one context manager."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from .app import build_app
from .auth import SCOPES
from .blobstore import make_blob_backend
from .context import CONTEXT
from .settings import StoreSettings
from .storage import Storage, make_storage


@dataclass
class RunningStore:
    """A store that is listening: its base URL, its storage and a way to mint tokens for it."""

    url: str
    storage: Storage
    app: web.Application

    async def token(self, project: str, scopes: Iterable[str] = SCOPES) -> str:
        """A new API token for ``project`` that carries this store's URL."""
        return await self.app[CONTEXT].auth.mint(project, scopes, self.url)


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


@asynccontextmanager
async def serve(
    settings: StoreSettings,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    tls: ssl.SSLContext | None = None,
    reuse_port: bool = False,
) -> AsyncIterator[RunningStore]:
    """Open storage and blobs, listen on ``host:port`` (0: any free port), yield, then shut down.

    ``reuse_port`` sets ``SO_REUSEPORT``: several store processes then listen on one port and the
    kernel spreads connections among them (``neptune-sync server --workers N``).
    """
    async with AsyncExitStack() as stack:
        storage = make_storage(settings.db, settings.data_dir, pg_schema=settings.pg_schema)
        await storage.open()
        stack.push_async_callback(storage.close)
        blobs = make_blob_backend(settings.blob_location, presign_seconds=settings.presign_seconds)
        await blobs.open()
        stack.push_async_callback(blobs.close)
        app = build_app(settings, storage, blobs)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=5.0)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, host, port, ssl_context=tls, reuse_port=reuse_port or None)
        await site.start()
        bound = runner.addresses[0][1]
        shown = f"[{host}]" if ":" in host else host
        yield RunningStore(f"{'https' if tls else 'http'}://{shown}:{bound}", storage, app)
