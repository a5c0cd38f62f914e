"""Starting and stopping a store: storage, application and listening socket, as one context manager."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from neptune_sync.exceptions import NeptuneUserError

from .app import build_app
from .auth import SCOPES
from .context import CONTEXT
from .settings import StoreSettings, private_data_dir
from .storage import Storage, make_storage


@dataclass
class RunningStore:
    """A store that is listening: its base URL, its storage and a way to mint tokens for it."""

    url: str
    storage: Storage
    app: web.Application

    async def token(
        self, project: str | Iterable[str], scopes: Iterable[str] = SCOPES, *, ca: str | None = None
    ) -> str:
        """A new API token for ``project`` (or several) that carries this store's URL (and ``ca``)."""
        return await self.app[CONTEXT].auth.mint(project, scopes, self.url, ca=ca)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def check_exposure(host: str, *, tls: bool, insecure: bool) -> None:
    """Refuse plain HTTP beyond loopback unless ``insecure``: tokens would cross the network in clear."""
    if not tls and not insecure and not is_loopback(host):
        raise NeptuneUserError(
            f"refusing to serve plain HTTP on {host!r}: API tokens would cross the network in clear."
            " Give --tls-cert and --tls-key, or pass --insecure if a TLS proxy in front terminates it"
        )


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


@asynccontextmanager
async def serve(
    settings: StoreSettings, host: str = "127.0.0.1", port: int = 0, *, tls: ssl.SSLContext | None = None
) -> AsyncIterator[RunningStore]:
    """Open storage, listen on ``host:port`` (0: any free port), yield, then shut down cleanly."""
    private_data_dir(settings)
    storage = make_storage(settings.db, settings.data_dir, pg_schema=settings.pg_schema)
    await storage.open()
    try:
        app = build_app(settings, storage, tls=tls is not None)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=5.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port, ssl_context=tls)
            await site.start()
            bound = runner.addresses[0][1]
            shown = f"[{host}]" if ":" in host else host
            yield RunningStore(f"{'https' if tls else 'http'}://{shown}:{bound}", storage, app)
        finally:
            await runner.cleanup()
    finally:
        await storage.close()
