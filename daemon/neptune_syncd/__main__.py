"""``neptune-syncd``: run the sync daemon for one data dir (docs/daemon.md).

Exit codes: 0 after a clean shutdown or when another daemon already holds the data dir's lock,
2 for a configuration error (no token configured, a token that cannot be read, bad config file).

The lock is taken before the heavy imports (anyio, aiohttp, watchfiles), so a training process
that just started this daemon sees it running within a fraction of a second.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

import msgspec

from neptune_sync.exceptions import NeptuneSyncError
from neptune_sync.wire.daemon import try_lock

from .config import DaemonConfig, load_config
from .routing import RoutingSink, check_routes
from .sinks.base import Sink

log = logging.getLogger("neptune_syncd")


def make_sink(config: DaemonConfig) -> Sink:
    """The daemon's sink: each run's requests go to its project's store with its project's token
    (neptune_syncd.routing). Raises NoCredentialsError / AuthError for a config that cannot work."""
    from .sinks.http import HttpSink

    check_routes(config)
    return RoutingSink(config, lambda route: HttpSink(route.url, route.token, timeout=config.request_timeout))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="neptune-syncd", description="Replay operation logs to the store.")
    parser.add_argument(
        "--data-dir", help="data dir to watch (default: NEPTUNE_SYNC_DIR or the user default)"
    )
    parser.add_argument("--config", type=Path, help="TOML config file (docs/daemon.md)")
    parser.add_argument("--store-url", help="store address (default: from the API token)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser.parse_args(argv)


def take_lock(root: Path, attempts: int = 25, pause: float = 0.02) -> int | None:
    """The data dir's daemon lock, or None if another daemon holds it.

    Clients probe "is a daemon running?" by taking the same lock for an instant
    (neptune_sync.wire.daemon.daemon_running), so one refusal is not proof of another daemon: a lock still
    held after ``attempts`` tries ``pause`` seconds apart is.
    """
    for _ in range(attempts):
        lock = try_lock(root)
        if lock is not None:
            return lock
        time.sleep(pause)
    return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("watchfiles").setLevel(logging.WARNING)  # one line per file event otherwise
    try:
        config = load_config(args.config, data_dir=args.data_dir, store_url=args.store_url)
        check_routes(config)
    except (NeptuneSyncError, OSError, ValueError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        log.error("configuration error: %s", exc)
        return 2
    lock = take_lock(config.root)
    if lock is None:
        log.info("another neptune-syncd holds %s; exiting", config.root)
        return 0
    try:
        import anyio

        from .service import Service

        anyio.run(Service(config, make_sink(config)).run)
    finally:
        os.close(lock)
    log.info("neptune-syncd stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
