"""Starting and stopping a store: storage, application and listening socket, as one context manager."""

from __future__ import annotations

import ipaddress
import sqlite3
import ssl
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web

from neptune_sync.exceptions import NeptuneUserError, StoreError

from .app import build_app
from .auth import SCOPES
from .blob_backends import make_blob_backend
from .config import StoreConfig, private_data_dir
from .context import CONTEXT
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


def _database_errors() -> tuple[type[BaseException], ...]:
    errors: tuple[type[BaseException], ...] = (OSError, sqlite3.Error)
    try:
        import asyncpg
    except ModuleNotFoundError:  # the postgres extra is not installed: no DSN can be opened anyway
        return errors
    return (*errors, asyncpg.PostgresError, asyncpg.InterfaceError)


async def open_storage(config: StoreConfig) -> Storage:
    """The store's storage, opened; a database that cannot be opened is a StoreError naming it."""
    storage = make_storage(config.db, config.data_dir, pg_schema=config.pg_schema)
    try:
        await storage.open()
    except _database_errors() as exc:
        where = config.db or config.data_dir
        if "://" in str(where):  # a DSN may carry a password: show only its host and database
            parts = urlsplit(str(where))
            where = f"PostgreSQL at {parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path}"
        raise StoreError(
            f"cannot open the database ({where}): {type(exc).__name__}: {exc}; check that it is running "
            "and reachable, and the --db / --data arguments"
        ) from None
    return storage


# a table request may name 200 columns of up to 1024 characters each (neptune_sync_store.tables)
MAX_REQUEST_LINE = 1 << 20


@asynccontextmanager
async def serve(
    config: StoreConfig,
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
    private_data_dir(config)
    async with AsyncExitStack() as stack:
        storage = await open_storage(config)
        stack.push_async_callback(storage.close)
        blobs = make_blob_backend(config.blob_location, presign_seconds=config.presign_seconds)
        await blobs.open()
        stack.push_async_callback(blobs.close)
        app = build_app(config, storage, blobs, tls=tls is not None)
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=5.0,
            max_line_size=MAX_REQUEST_LINE,
        )
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, host, port, ssl_context=tls, reuse_port=reuse_port or None)
        try:
            await site.start()
        except OSError as exc:
            raise StoreError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}; another process may be using "
                "the port: choose another with --port (--port 0 picks a free one)"
            ) from None
        bound = runner.addresses[0][1]
        shown = f"[{host}]" if ":" in host else host
        yield RunningStore(f"{'https' if tls else 'http'}://{shown}:{bound}", storage, app)
