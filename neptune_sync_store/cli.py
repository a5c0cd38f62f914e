"""``neptune-sync server`` (run the store) and ``neptune-sync server token create`` (mint a token).

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
from pathlib import Path

from .settings import DEFAULT_MAX_BODY, DEFAULT_MAX_INFLIGHT, DEFAULT_PORT, StoreSettings, default_data_dir

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
    create = token_commands.add_parser("create", help="mint an API token for a project and print it")
    _storage_args(create)
    create.add_argument("--project", required=True, help="workspace/project")
    create.add_argument("--scope", action="append", choices=("read", "write"), help="repeat; default: both")
    create.add_argument(
        "--url",
        help=f"store address put into the token (default ${URL_ENV} or http://127.0.0.1:{DEFAULT_PORT})",
    )
    create.set_defaults(func=_token_create)


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


def _settings(args: argparse.Namespace, **limits: int) -> StoreSettings:
    data = Path(getattr(args, "data", None) or default_data_dir())
    return StoreSettings(
        data,
        getattr(args, "db", None),
        getattr(args, "pg_schema", "public"),
        blobs=getattr(args, "blobs", None),
        **limits,
    )


def _serve(args: argparse.Namespace) -> int:
    from .server import serve, tls_context

    if bool(args.tls_cert) != bool(args.tls_key):
        print("neptune-sync server: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("neptune-sync server: --workers must be at least 1", file=sys.stderr)
        return 2
    if args.workers > 1:
        from .workers import run_workers

        return run_workers(sys.argv[1:], args.host, args.port, args.workers)
    settings = _settings(
        args, max_body=args.max_body, max_inflight=args.max_inflight, presign_seconds=args.presign_seconds
    )
    tls = tls_context(args.tls_cert, args.tls_key) if args.tls_cert else None

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with serve(settings, args.host, args.port, tls=tls, reuse_port=args.reuse_port) as store:
            if args.token_project and args.token_file:
                _write_private(Path(args.token_file), await store.token(args.token_project))
            print(store.url, flush=True)
            await stop.wait()

    asyncio.run(main())
    return 0


def _token_create(args: argparse.Namespace) -> int:
    from .auth import SCOPES, TokenAuth
    from .server import open_storage

    settings = _settings(args)
    url = args.url or os.environ.get(URL_ENV) or f"http://127.0.0.1:{DEFAULT_PORT}"

    async def main() -> str:
        storage = await open_storage(settings)
        try:
            return await TokenAuth(storage).mint(args.project, args.scope or SCOPES, url)
        finally:
            await storage.close()

    print(asyncio.run(main()))
    return 0


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
