"""What the training library needs from the sync daemon: start it, and read how far it got.

Stdlib + msgspec only: this module is on the training import path.

The daemon's per-run state file (docs/daemon.md, state format version 1) lives at
``runs/<run_key>/sync/state.json``. Only the daemon (or ``neptune-sync sync``) writes it, always
atomically (temporary file + rename), right after the store acknowledged a batch. Readers may see
an older version, never a torn one. It is a *report*: the store's acknowledged sequence numbers
stay the source of truth, and a lost or stale state file only makes waiters wait longer.

The data dir's ``daemon.lock`` is flock-ed exclusively by the running daemon; that lock is what
"a daemon is running for this data dir" means.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

import msgspec

from .messages import warn_user
from .oplog.layout import sync_state_dir

STATE_VERSION = 1
STATE_FILE = "state.json"
QUARANTINE_FILE = "quarantine.jsonl"
LOCK_FILE = "daemon.lock"
LOG_FILE = "daemon.log"
NO_DAEMON_ENV = "NEPTUNE_SYNC_NO_DAEMON"
POLL_INTERVAL = 0.02
CONFIG_ENV = "NEPTUNE_SYNC_DAEMON_CONFIG"
STORE_URL_ENV = "NEPTUNE_SYNC_STORE_URL"  # the daemon's store address, overriding the token's
START_WAIT = 5.0  # seconds ensure_daemon waits for a daemon it started to take the lock


class WriterState(msgspec.Struct):
    """How far one writer's log has been acknowledged by the store."""

    acked_seq: int = 0  # every seq <= this is applied in the store, or quarantined
    seen_seq: int = 0  # highest seq the daemon has read from the log
    segment: str = ""  # segment file holding the first unacknowledged seq ("" = from the start)
    offset: int = 0  # frame offset in that segment to resume reading at
    store_acked: int = 0  # what the store itself reported
    quarantined_to: int = 0  # highest seq sent to the quarantine file (acked_seq counts those too)


class ConflictRecord(msgspec.Struct, frozen=True):
    """A type conflict and what the daemon did about it."""

    writer_id: str
    seq: int
    path: str
    existing_type: str
    attempted_type: str
    action: str  # "coerced" or "renamed to <path>"


class RunSyncState(msgspec.Struct):
    """Contents of ``sync/state.json``."""

    version: int = STATE_VERSION
    updated: float = 0.0
    daemon_pid: int = 0
    writers: dict[str, WriterState] = {}
    pending_ops: int = 0  # seen but not acknowledged, over all writers (0 until first read)
    pending_bytes: int = 0  # unacknowledged segment bytes, approximately
    lag: float = 0.0  # seconds since the oldest unacknowledged op was logged
    last_error: str = ""
    conflicts: list[ConflictRecord] = []
    quarantined: int = 0
    damaged: list[str] = []  # corrupt records met, "file @ offset: problem"; missing records, too
    lost_records: int = 0  # records known lost from the log (damaged frames, missing segments)
    store_id: str = ""  # the run's id in the store (a model version's number is assigned there)


_state_decoder = msgspec.json.Decoder(RunSyncState)


def state_path(run_path: Path) -> Path:
    return sync_state_dir(Path(run_path)) / STATE_FILE


def read_state(run_path: Path) -> RunSyncState | None:
    """The run's sync state, or None if the daemon never wrote one (or it is unreadable)."""
    try:
        return _state_decoder.decode(state_path(run_path).read_bytes())
    except (OSError, msgspec.DecodeError):
        return None


def acked_seq(run_path: Path, writer_id: str) -> int:
    """The highest sequence number of a writer the store has acknowledged (0 if unknown)."""
    state = read_state(run_path)
    writer = state.writers.get(writer_id) if state else None
    return writer.acked_seq if writer else 0


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


def config_path() -> Path | None:
    """The daemon's config file: ``$NEPTUNE_SYNC_DAEMON_CONFIG``, else
    ``$XDG_CONFIG_HOME/neptune-sync/daemon.toml`` if it exists (docs/daemon.md); None if neither."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    default = Path(xdg) / "neptune-sync" / "daemon.toml"
    return default if default.exists() else None


def pending_ops(run_path: Path, writer_id: str, last_seq: int) -> int:
    """How many of ``writer_id``'s operations up to ``last_seq`` the store has not acknowledged."""
    return max(0, last_seq - acked_seq(run_path, writer_id))


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
