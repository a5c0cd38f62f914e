"""The daemon's settings: defaults, a TOML config file, then environment overrides.

Config file (docs/daemon.md): ``--config PATH``, else ``$NEPTUNE_SYNC_DAEMON_CONFIG``, else
``$XDG_CONFIG_HOME/neptune-sync/daemon.toml`` if it exists. Keys are the field names below.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from neptune_sync.oplog.layout import data_dir
from neptune_sync.wire.daemon import STORE_URL_ENV, config_path

from .batching import BatchPolicy
from .conflicts import POLICIES

TOKEN_ENV = "NEPTUNE_API_TOKEN"


class ProjectRoute(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A ``[projects."ws/proj"]`` (or ``"ws/*"``) entry: the token and store of those runs."""

    api_token: str = ""  # default: the top-level api_token
    store_url: str = ""  # default: the top-level store_url, else the token's own address


class DaemonConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Every setting of the daemon and of ``neptune-sync sync``."""

    data_dir: str = ""  # default: the data dir of neptune_sync (NEPTUNE_SYNC_DIR)
    store_url: str = ""  # default: from NEPTUNE_SYNC_STORE_URL or the API token
    api_token: str = ""  # default: NEPTUNE_API_TOKEN
    projects: dict[str, ProjectRoute] = {}  # project or "ws/*" -> its token / store (neptune_syncd.routing)
    batch: BatchPolicy = BatchPolicy()
    poll_interval: float = 0.05  # re-read runs whose writer is alive this often
    rescan_interval: float = 5.0  # look for new runs / appended data even without file events
    max_concurrent_requests: int = 4  # requests in flight to the store, over all runs
    request_timeout: float = 30.0
    backoff_base: float = 0.1
    backoff_cap: float = 10.0
    isolate_after: int = 5  # 500s in a row to one batch before splitting it to find the failing op
    auth_pause: float = 60.0  # a project whose token is refused waits this long before a retry
    conflict_policy: str = "coerce"  # coerce | rename | quarantine (neptune_syncd.conflicts)
    retention: str = "keep"  # keep | delete: what happens to fully synced, finished segments
    shutdown_timeout: float = 10.0  # SIGTERM: bound on draining in-flight work
    watchdog_interval: float = 0.0  # 0: half of $WATCHDOG_USEC when systemd asks for a watchdog

    def __post_init__(self) -> None:
        if self.conflict_policy not in POLICIES:
            raise ValueError(f"conflict_policy must be one of {POLICIES}")
        if self.isolate_after < 1:
            raise ValueError("isolate_after must be at least 1")
        if self.retention not in ("keep", "delete"):
            raise ValueError("retention must be 'keep' or 'delete'")
        for pattern in self.projects:
            workspace, _, name = pattern.partition("/")
            if not workspace or not name or "/" in name or ("*" in name and name != "*") or "*" in workspace:
                raise ValueError(f"projects: {pattern!r} is neither 'workspace/project' nor 'workspace/*'")

    @property
    def root(self) -> Path:
        return Path(self.data_dir).expanduser() if self.data_dir else data_dir()


def load_config(path: Path | None = None, **overrides: object) -> DaemonConfig:
    """Read the config file (if any), apply environment defaults, then explicit overrides.

    Raises ``msgspec.ValidationError`` naming the bad key, or ``OSError`` for an unreadable file.
    """
    candidate = path or config_path()
    raw: dict[str, object] = {}
    if candidate is not None:
        raw = msgspec.toml.decode(candidate.read_bytes())
    raw.setdefault("store_url", os.environ.get(STORE_URL_ENV, ""))
    raw.setdefault("api_token", os.environ.get(TOKEN_ENV, ""))
    raw.update({k: v for k, v in overrides.items() if v is not None})
    return msgspec.convert(raw, DaemonConfig)
