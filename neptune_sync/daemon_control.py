"""What the training library needs from the sync daemon: start it, and read how far it got.

Stdlib + msgspec only: this module is on the training import path. What it shares with the daemon
(the data dir's lock, the sync state file) is in :mod:`neptune_sync.wire`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from .messages import warn_user
from .wire.daemon import daemon_running, lock_path
from .wire.sync_state import acked_seq

LOG_FILE = "daemon.log"
NO_DAEMON_ENV = "NEPTUNE_SYNC_NO_DAEMON"
POLL_INTERVAL = 0.02
START_WAIT = 5.0  # seconds ensure_daemon waits for a daemon it started to take the lock


def wait_synced(run_path: Path, writer_id: str, seq: int, timeout: float | None) -> bool:
    """Block until the store acknowledged ``writer_id``'s operations up to ``seq``.

    Returns True when they are acknowledged, False when ``timeout`` seconds passed first
    (``None`` waits for ever). Never raises for a missing or stale state file.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    while acked_seq(run_path, writer_id) < seq:
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(POLL_INTERVAL)
    return True


def pending_ops(run_path: Path, writer_id: str, last_seq: int) -> int:
    """How many of ``writer_id``'s operations up to ``last_seq`` the store has not acknowledged."""
    return max(0, last_seq - acked_seq(run_path, writer_id))


def ensure_daemon(root: Path, api_token: str | None = None) -> None:
    """Start a sync daemon for the data dir ``root`` in the background unless one is running.

    The daemon inherits the environment (``NEPTUNE_API_TOKEN`` names the store); ``api_token``,
    if given, is passed to it instead. Its output goes to ``<root>/daemon.log``. Returns once the
    daemon holds the data dir's lock (typically ~0.1 s; at most 5 s). Never raises: a
    daemon that cannot be started is a warning, the log stays on disk for a later
    ``neptune-sync sync``. ``NEPTUNE_SYNC_NO_DAEMON=1`` turns auto-start off.
    """
    if os.environ.get(NO_DAEMON_ENV, "") not in ("", "0"):
        return
    try:
        if daemon_running(root):
            return
        env = {**os.environ, "NEPTUNE_API_TOKEN": api_token} if api_token else None
        daemon = [sys.executable, "-m", "neptune_syncd", "--data-dir", str(root)]
        with open(Path(root) / LOG_FILE, "ab") as log:
            # sh starts the daemon in the background and exits at once: the daemon is not our
            # child, so it is neither a zombie of the training process nor tied to its exit
            subprocess.run(
                ["/bin/sh", "-c", '"$@" &', "sh", *daemon],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                env=env,
                timeout=10,
                check=True,
            )
        deadline = time.monotonic() + START_WAIT
        while not daemon_running(root):  # so that wait() right after init sees a daemon
            if time.monotonic() > deadline:
                raise OSError(f"it did not take {lock_path(root)} within {START_WAIT:g} s (see {LOG_FILE})")
            time.sleep(POLL_INTERVAL)
    except (OSError, subprocess.SubprocessError) as exc:
        warn_user(
            f"neptune-sync: could not start the sync daemon for {root}: {exc}; "
            "the log stays on disk, run `neptune-sync sync` to upload it",
            RuntimeWarning,
        )
