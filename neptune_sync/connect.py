"""The one place the client reaches beyond its own log: the sync daemon and the store.

Both are reached through modules imported on first use (``neptune_sync.daemon_control``,
``neptune_sync.store_client``, ``neptune_sync.wire``), so ``import neptune_sync`` stays light. Without them, async mode
logs like offline mode, and modes that need the store raise :class:`NeedsStoreError`.
"""

from __future__ import annotations

import importlib
import logging
import os
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


def can_ship(root: Path, api_token: str | None) -> bool:
    """Whether a daemon started for ``root`` could ship runs: True with a readable token, or when
    a running daemon or the daemon's config file brings its own; False without any (a warning names
    the fix and the run is logged locally). A token that cannot be read raises AuthError at once."""
    from .exceptions import AuthError
    from .wire.daemon import STORE_URL_ENV, config_path, daemon_running
    from .wire.token import parse_token

    control = _optional("daemon_control")
    if api_token:
        if control is None or not os.environ.get(STORE_URL_ENV):  # else the token need not carry the address
            try:
                parse_token(api_token)
            except AuthError as exc:
                raise AuthError(
                    f"NEPTUNE_API_TOKEN / api_token=: {exc}; async mode ships the run with it "
                    "(mode='offline' logs locally only)"
                ) from None
        return True
    if control is None or config_path() is not None or daemon_running(root):
        return True
    logger.warning(
        "neptune-sync: no API token (NEPTUNE_API_TOKEN or api_token=), so nothing is sent to a store: "
        "the run is logged locally in %s; set NEPTUNE_API_TOKEN to ship it in the background, or run "
        "`neptune-sync sync` later",
        root,
    )
    return False


def wait_synced(
    run_path: Path,
    writer_id: str,
    seq: int,
    timeout: float | None,
    *,
    daemon_starting: bool = False,
    announce: str = "",
) -> bool:
    """Wait until the store has what this writer logged up to ``seq``; False if not (yet).

    Waits only while a daemon runs for the data dir, re-checking every ``POLL`` seconds, so a
    daemon that dies cannot hang ``stop()``. ``daemon_starting``: this process just started one,
    so give it up to ``DAEMON_STARTUP`` seconds to come up first. ``announce`` (who waits): a wait
    longer than one ``POLL`` is announced once, with what the daemon reports (a store that is
    down, a token it refuses), so a waiting ``stop()`` is never silent.
    """
    from .wire.daemon import daemon_running

    control = _optional("daemon_control")
    if control is None:
        return False
    root = run_path.parent.parent  # <root>/runs/<run_key>
    now = time.monotonic()
    deadline = None if timeout is None else now + timeout
    startup_until = now + DAEMON_STARTUP if daemon_starting else now
    announced = not announce
    while daemon_running(root) or time.monotonic() < startup_until:
        left = POLL if deadline is None else min(POLL, max(0.0, deadline - time.monotonic()))
        if control.wait_synced(run_path, writer_id, seq, left):
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False
        if not announced:
            announced = True
            limit = "until it is done" if deadline is None else f"up to {timeout:g} s"
            logger.warning(
                "%s: waiting %s for the sync daemon to upload %d operation(s)%s",
                announce,
                limit,
                control.pending_ops(run_path, writer_id, seq),
                sync_problem(run_path),
            )
    return False


def sync_problem(run_path: Path) -> str:
    """What the daemon last reported failing for this run, as "; the daemon reports: ..." ("" if nothing)."""
    from .wire.sync_state import read_state

    state = read_state(run_path)
    return f"; the daemon reports: {state.last_error}" if state is not None and state.last_error else ""


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
        self._behind = False  # a wait timed out and the store has not caught up since

    def __getattr__(self, name: str) -> Any:
        return getattr(self._writer, name)

    def append(self, op: Any, ts: float | None = None) -> int:
        return self._wait(self._writer.append(op, ts))

    def append_float(self, path: str, step: float, value: float, ts: float) -> int:
        return self._wait(self._writer.append_float(path, step, value, ts))

    def _wait(self, seq: int) -> int:
        self._writer.flush()
        starting, self._starting = self._starting, False
        # behind: an earlier call timed out (the store is down or slow); calls then only check, so
        # training goes on at log speed until the store has caught up with this writer again
        timeout = 0.0 if self._behind else self._timeout
        synced = wait_synced(self._run_path, self._writer.writer_id, seq, timeout, daemon_starting=starting)
        if not synced and not self._behind:
            logger.warning(
                "mode='sync': the store has not acknowledged seq %d within %.0f s%s; further calls do not "
                "wait until it catches up (the log keeps every call)",
                seq,
                self._timeout,
                sync_problem(self._run_path),
            )
        self._behind = not synced
        return seq
