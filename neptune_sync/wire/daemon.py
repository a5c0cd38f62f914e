"""What the client and the sync daemon agree on about a data directory (docs/daemon.md).

- ``<data dir>/daemon.lock`` is flock-ed exclusively by the running daemon; that lock is what
  "a daemon is running for this data dir" means. The holder writes its pid into the file (for
  ``neptune-sync status`` and operators).
- The daemon's config file is ``$NEPTUNE_SYNC_DAEMON_CONFIG``, else
  ``$XDG_CONFIG_HOME/neptune-sync/daemon.toml`` if it exists; a client that finds one knows a
  daemon brings its own tokens.
- ``$NEPTUNE_SYNC_STORE_URL`` gives the daemon's store address, overriding the token's.

Stdlib only: the training library starts the daemon and checks for it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_FILE = "daemon.lock"
CONFIG_ENV = "NEPTUNE_SYNC_DAEMON_CONFIG"
STORE_URL_ENV = "NEPTUNE_SYNC_STORE_URL"


def config_path() -> Path | None:
    """The daemon's config file: ``$NEPTUNE_SYNC_DAEMON_CONFIG``, else
    ``$XDG_CONFIG_HOME/neptune-sync/daemon.toml`` if it exists; None if neither."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    default = Path(xdg) / "neptune-sync" / "daemon.toml"
    return default if default.exists() else None


def lock_path(root: Path) -> Path:
    return Path(root) / LOCK_FILE


def try_lock(root: Path, *, record_pid: bool = True) -> int | None:
    """Take the data dir's daemon lock; returns the locked fd, or None if a daemon holds it.

    The holder's pid is written into the lock file (for ``neptune-sync status`` and operators).
    """
    Path(root).mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path(root), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    if record_pid:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def daemon_running(root: Path) -> bool:
    """True if a daemon holds the data dir's lock."""
    fd = try_lock(root, record_pid=False)
    if fd is None:
        return True
    os.close(fd)
    return False
