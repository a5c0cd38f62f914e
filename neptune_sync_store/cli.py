"""``neptune-sync server`` (run the store) and its administration commands: ``token create / list /
revoke``, ``gc``, ``backup``, ``restore`` (see :mod:`.admin`).

With ``--port 0`` the server binds a free port; either way it prints its URL as the one line on
stdout once it is listening, so a parent process can read it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from neptune_syncd.notify import Notifier

from .blobgc import DEFAULT_GRACE
from .config import DEFAULT_MAX_BODY, DEFAULT_MAX_INFLIGHT, DEFAULT_PORT, StoreConfig, default_data_dir

if TYPE_CHECKING:
    from .storage import Storage

URL_ENV = "NEPTUNE_SYNC_STORE_URL"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``server`` command (and its ``token create`` subcommand) to the ``neptune-sync`` CLI."""
    server = subparsers.add_parser(
        "server",
        help="run the store server",
        description="Run the neptune-sync store server (stop with SIGINT / SIGTERM).",
    )
    _storage_args(server)
    server.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    server.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"0 picks a free port (default {DEFAULT_PORT})"
    )
    server.add_argument("--tls-cert", help="PEM certificate: serve HTTPS")
    server.add_argument("--tls-key", help="PEM private key of --tls-cert")
    server.add_argument(
        "--insecure",
        action="store_true",
        help="allow plain HTTP on an address other than loopback (tokens then cross the network in clear)",
    )
    server.add_argument(
        "--max-partial-bytes",
        type=int,
        default=StoreConfig.max_partial,
        help="bytes of unfinished uploads one project may hold",
    )
    server.add_argument(
        "--partial-ttl",
        type=float,
        default=StoreConfig.partial_ttl,
        help="seconds after its last byte that an unfinished upload is dropped",
    )
    server.add_argument(
        "--max-body", type=int, default=DEFAULT_MAX_BODY, help="largest request body in bytes"
    )
    server.add_argument(
        "--max-inflight",
        type=int,
        default=DEFAULT_MAX_INFLIGHT,
        help="ingestion requests at once; more get 429",
    )
    server.add_argument(
        "--workers", type=int, default=1, help="store processes sharing the port (SO_REUSEPORT; default 1)"
    )
    server.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)  # set for workers
    server.add_argument(
        "--presign-seconds",
        type=int,
        default=0,
        help="with S3 blobs: redirect blob downloads to presigned URLs valid this long (default 0: off)",
    )
    server.add_argument("--token-project", help="mint a read+write token for this project at start ...")
    server.add_argument(
        "--token-file", help="... and write it to this file (mode 600) before printing the URL"
    )
    server.set_defaults(func=_serve)
    commands = server.add_subparsers(dest="server_command", metavar="SUBCOMMAND")
    token = commands.add_parser("token", help="manage API tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = token_commands.add_parser("create", help="mint an API token and print it")
    _storage_args(create)
    create.add_argument(
        "--project",
        required=True,
        action="append",
        help="workspace/project, or workspace/* for every project of a workspace; repeat for several",
    )
    create.add_argument("--scope", action="append", choices=("read", "write"), help="repeat; default: both")
    create.add_argument("--name", default="", help="a name to list and revoke the token by")
    create.add_argument("--expires", help="a duration (90m, 12h, 30d, 2w) or an ISO date; default: never")
    create.add_argument(
        "--ca-file",
        help="PEM of a private CA that signed the store's certificate: clients then verify with it",
    )
    create.add_argument(
        "--url",
        help=f"store address put into the token (default ${URL_ENV} or http://127.0.0.1:{DEFAULT_PORT})",
    )
    create.set_defaults(func=_token_create)
    listing = token_commands.add_parser("list", help="list tokens (never their secrets)")
    _storage_args(listing)
    listing.set_defaults(func=_token_list)
    revoking = token_commands.add_parser("revoke", help="revoke a token at once, on every store process")
    _storage_args(revoking)
    revoking.add_argument("token", metavar="NAME_OR_ID", help="the token's name or its id from `token list`")
    revoking.add_argument("--all", action="store_true", help="revoke every token with this name")
    revoking.set_defaults(func=_token_revoke)
    gc = commands.add_parser(
        "gc",
        help="delete blobs no run references and abandoned partial uploads (safe beside a running store)",
    )
    _storage_args(gc)
    gc.add_argument(
        "--grace",
        type=float,
        default=DEFAULT_GRACE,
        help="spare blobs touched this many seconds ago or later",
    )
    gc.add_argument(
        "--partial-ttl",
        type=float,
        default=StoreConfig.partial_ttl,
        help="drop partial uploads idle this many seconds",
    )
    gc.add_argument("--dry-run", action="store_true", help="report what would be deleted")
    gc.set_defaults(func=_gc)
    backup = commands.add_parser("backup", help="back the store up into DEST (safe beside a running store)")
    _storage_args(backup)
    backup.add_argument("dest", metavar="DEST")
    backup.set_defaults(func=_backup)
    restore = commands.add_parser("restore", help="put a backup back in place (stop the store first)")
    _storage_args(restore)
    restore.add_argument("src", metavar="SRC")
    restore.add_argument("--replace", action="store_true", help="overwrite the store's current database")
    restore.set_defaults(func=_restore)


def _storage_args(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: the subcommand's defaults must not overwrite values given before it
    parser.add_argument(
        "--data", default=argparse.SUPPRESS, help="data directory (blobs, default SQLite file)"
    )
    parser.add_argument("--db", default=argparse.SUPPRESS, help="SQLite file path or postgresql:// DSN")
    parser.add_argument("--pg-schema", default=argparse.SUPPRESS, help="PostgreSQL schema (default public)")
    parser.add_argument(
        "--blobs",
        default=argparse.SUPPRESS,
        help="where blob bytes live: a directory or s3://bucket[/prefix] (default <data>/blobs)",
    )


def _config(args: argparse.Namespace, **limits: float) -> StoreConfig:
    data = Path(getattr(args, "data", None) or default_data_dir())
    return StoreConfig(
        data,
        getattr(args, "db", None),
        getattr(args, "pg_schema", "public"),
        blobs=getattr(args, "blobs", None),
        **limits,
    )


def _serve(args: argparse.Namespace) -> int:
    from .server import check_exposure, serve, tls_context

    if bool(args.tls_cert) != bool(args.tls_key):
        print("neptune-sync server: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    check_exposure(args.host, tls=bool(args.tls_cert), insecure=args.insecure)
    if args.workers < 1:
        print("neptune-sync server: --workers must be at least 1", file=sys.stderr)
        return 2
    if args.workers > 1:
        from .workers import run_workers

        return run_workers(sys.argv[1:], args.host, args.port, args.workers)
    config = _config(
        args,
        max_body=args.max_body,
        max_inflight=args.max_inflight,
        max_partial=args.max_partial_bytes,
        partial_ttl=args.partial_ttl,
        presign_seconds=args.presign_seconds,
    )
    tls = tls_context(args.tls_cert, args.tls_key) if args.tls_cert else None

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )

    notifier = Notifier()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with serve(config, args.host, args.port, tls=tls, reuse_port=args.reuse_port) as store:
            if args.token_project and args.token_file:
                _write_private(Path(args.token_file), await store.token(args.token_project))
            print(store.url, flush=True)
            notifier.notify("READY=1", f"STATUS=serving {store.url}")
            watchdog = asyncio.create_task(_watchdog(notifier))
            await stop.wait()
            notifier.notify("STOPPING=1")
            watchdog.cancel()

    asyncio.run(main())
    return 0


async def _watchdog(notifier: Notifier) -> None:
    """WATCHDOG=1 at the interval systemd asked for, from the event loop: a hung loop stops it."""
    if notifier.watchdog_interval <= 0:
        return
    while True:
        notifier.notify("WATCHDOG=1")
        await asyncio.sleep(notifier.watchdog_interval)


def _admin(work: Callable[[], str]) -> int:
    """Run an administration command, its output on stdout (errors reach the CLI's boundary)."""
    print(work())
    return 0


def _token_create(args: argparse.Namespace) -> int:
    from .admin import parse_expiry, read_ca, with_storage
    from .auth import SCOPES, TokenAuth

    url = args.url or os.environ.get(URL_ENV) or f"http://127.0.0.1:{DEFAULT_PORT}"

    def work() -> str:
        expires = parse_expiry(args.expires, time.time()) if args.expires else None
        ca = read_ca(args.ca_file) if args.ca_file else None
        scopes = args.scope or SCOPES
        return asyncio.run(
            with_storage(
                _config(args),
                lambda s: TokenAuth(s).mint(
                    args.project, scopes, url, name=args.name, expires=expires, ca=ca
                ),
            )
        )

    return _admin(work)


def _token_list(args: argparse.Namespace) -> int:
    from .admin import token_table, with_storage

    def work() -> str:
        rows = asyncio.run(with_storage(_config(args), lambda s: s.tokens()))
        return token_table(rows, time.time())

    return _admin(work)


def _token_revoke(args: argparse.Namespace) -> int:
    from .admin import revoke, with_storage

    def work() -> str:
        count = asyncio.run(with_storage(_config(args), lambda s: revoke(s, args.token, every=args.all)))
        return f"revoked {count} token{'s' if count != 1 else ''}"

    return _admin(work)


def _gc(args: argparse.Namespace) -> int:
    from .admin import with_storage
    from .blob_backends import make_blob_backend
    from .blobgc import BlobLock, collect

    config = _config(args)

    async def run(storage: Storage) -> str:
        blobs = make_blob_backend(config.blob_location)
        await blobs.open()
        try:
            report = await collect(
                storage,
                blobs,
                lock=BlobLock(config.gc_lock),
                grace=args.grace,
                partial_ttl=args.partial_ttl,
                dry_run=args.dry_run,
            )
        finally:
            await blobs.close()
        return report.summary(args.dry_run)

    def work() -> str:
        return asyncio.run(with_storage(config, run))

    return _admin(work)


def _backup(args: argparse.Namespace) -> int:
    from .admin import backup

    return _admin(lambda: backup(_config(args), Path(args.dest)))


def _restore(args: argparse.Namespace) -> int:
    from .admin import restore

    return _admin(lambda: restore(_config(args), Path(args.src), replace=args.replace))


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
