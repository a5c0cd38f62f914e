"""The one place the client reaches beyond its own log: the sync daemon and the store.

Both live in modules other engineers build (``neptune_sync.daemon_control``,
``neptune_sync.store_client``). Until a module exists, the client works without it: async mode
logs like offline mode, and modes that need the store raise :class:`NeedsStoreError`.
"""

from __future__ import annotations

import importlib
import logging
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from .exceptions import NeedsStoreError, NeptuneMissingApiTokenException

logger = logging.getLogger("neptune_sync")
POLL = 1.0
DAEMON_STARTUP = 10.0


def _optional(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"neptune_sync.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"neptune_sync.{name}":
            return None
        raise


def ensure_daemon(root: Path, api_token: str | None = None) -> bool:
    """Start the sync daemon for ``root`` if it is not running; False when there is none to start.

    A failure is reported, never raised: the log is durable and is synced when a daemon runs.
    """
    control = _optional("daemon_control")
    if control is None:
        return False
    try:
        control.ensure_daemon(root, api_token)
    except Exception as exc:  # the daemon is optional for logging; report and go on
        logger.warning("could not start the neptune-sync daemon (%s); the run is logged locally", exc)
        return False
    return True


def wait_synced(
    run_path: Path, writer_id: str, seq: int, timeout: float | None, *, daemon_starting: bool = False
) -> bool:
    """Wait until the store has what this writer logged up to ``seq``; False if not (yet).

    Waits only while a daemon runs for the data dir, re-checking every ``POLL`` seconds, so a
    daemon that dies cannot hang ``stop()``. ``daemon_starting``: this process just started one,
    so give it up to ``DAEMON_STARTUP`` seconds to come up first.
    """
    control = _optional("daemon_control")
    if control is None:
        return False
    root = run_path.parent.parent  # <root>/runs/<run_key>
    now = time.monotonic()
    deadline = None if timeout is None else now + timeout
    startup_until = now + DAEMON_STARTUP if daemon_starting else now
    while control.daemon_running(root) or time.monotonic() < startup_until:
        left = POLL if deadline is None else min(POLL, max(0.0, deadline - time.monotonic()))
        if control.wait_synced(run_path, writer_id, seq, left):
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False
    return False


def open_store(mode: str, api_token: str | None) -> Any:
    """A store client (neptune_sync.store_client) for the store the API token names."""
    client = _optional("store_client")
    if client is None:
        raise NeedsStoreError(
            f"mode={mode!r} needs the store client (neptune_sync.store_client), which this installation lacks"
        )
    if not api_token:
        raise NeptuneMissingApiTokenException(
            f"mode={mode!r} reads from the neptune-sync store: pass api_token= or set NEPTUNE_API_TOKEN "
            "(`neptune-sync server token create` prints one)"
        )
    return client.StoreClient.from_token(api_token)


class WaitingWriter:
    """Sync mode: wraps an op-log writer so each call returns once the store has acknowledged it.

    The daemon (started by the run) uploads the log; ``timeout`` bounds each wait, after which
    the call returns anyway (the record is in the durable log) and a warning says so.
    """

    def __init__(self, writer: Any, run_path: Path, *, timeout: float) -> None:
        self._writer = writer
        self._run_path = run_path
        self._timeout = timeout
        self._starting = True  # the first wait allows for the daemon's startup

    def __getattr__(self, name: str) -> Any:
        return getattr(self._writer, name)

    def append(self, op: Any, ts: float | None = None) -> int:
        return self._wait(self._writer.append(op, ts))

    def append_float(self, path: str, step: float, value: float, ts: float) -> int:
        return self._wait(self._writer.append_float(path, step, value, ts))

    def _wait(self, seq: int) -> int:
        self._writer.flush()
        starting, self._starting = self._starting, False
        if not wait_synced(
            self._run_path, self._writer.writer_id, seq, self._timeout, daemon_starting=starting
        ):
            logger.warning(
                "mode='sync': the store has not acknowledged seq %d within %.0f s", seq, self._timeout
            )
        return seq
