"""Settings of one run: ``init_run`` keyword arguments, falling back to environment variables.

Environment variables (neptune 1.x names where they exist):

``NEPTUNE_PROJECT``, ``NEPTUNE_API_TOKEN``, ``NEPTUNE_MODE``, ``NEPTUNE_CUSTOM_RUN_ID``
    as in neptune 1.x.
``NEPTUNE_SYNC_DIR``
    the data directory (neptune_sync.oplog.layout).
``NEPTUNE_SYNC_DURABILITY``
    ``mmap`` or ``buffered``; default: ``buffered`` on network filesystems, else ``mmap``.
``NEPTUNE_SYNC_STRICT=1``
    a failure to write the log raises instead of being reported and counted.
``NEPTUNE_SYNC_NO_DAEMON=1``
    async mode does not start the sync daemon.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .exceptions import NeptuneMissingProjectNameException, NeptuneUserError
from .validation import project_problem

ANONYMOUS_API_TOKEN = "ANONYMOUS"  # neptune 1.x's public-project token; here it means "no token given"
MODES = ("async", "offline", "debug", "sync", "read-only")
OFFLINE_PROJECT = "offline/project"
DEFAULT_FLUSH_PERIOD = 5.0
NETWORK_FILESYSTEMS = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "ceph", "glusterfs", "lustre", "gpfs", "beegfs", "afs"}
)


@dataclass(frozen=True)
class RunConfig:
    mode: str
    project: str
    api_token: str | None
    flush_period: float
    strict: bool
    start_daemon: bool


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def resolve(
    *,
    project: str | None,
    api_token: str | None,
    mode: str | None,
    flush_period: float | None,
    strict: bool | None,
) -> RunConfig:
    """Merge keyword arguments with the environment; raise NeptuneUserError on a bad mode/project."""
    mode = mode or os.environ.get("NEPTUNE_MODE") or "async"
    if mode not in MODES:
        raise NeptuneUserError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    project = project or os.environ.get("NEPTUNE_PROJECT") or ""
    if not project:
        if mode not in ("offline", "debug"):
            raise NeptuneMissingProjectNameException(
                f"mode={mode!r} needs a project: pass init_run(project='workspace/name') or set NEPTUNE_PROJECT"
            )
        project = OFFLINE_PROJECT
    problem = project_problem(project)
    if problem:
        raise NeptuneUserError(
            f"{problem}: pass init_run(project='workspace/project') or set NEPTUNE_PROJECT"
        )
    period = DEFAULT_FLUSH_PERIOD if flush_period is None else float(flush_period)
    if not period > 0:
        raise NeptuneUserError(f"flush_period must be > 0 seconds; got {flush_period!r}")
    return RunConfig(
        mode=mode,
        project=project,
        api_token=resolve_token(api_token),
        flush_period=period,
        strict=_truthy(os.environ.get("NEPTUNE_SYNC_STRICT")) if strict is None else bool(strict),
        start_daemon=not _truthy(os.environ.get("NEPTUNE_SYNC_NO_DAEMON")),
    )


def resolve_token(api_token: str | None) -> str | None:
    """``api_token`` if given, else ``NEPTUNE_API_TOKEN``; ``ANONYMOUS_API_TOKEN`` counts as not given.

    Scripts written for Neptune's public projects pass ``api_token=neptune.ANONYMOUS_API_TOKEN``;
    there is no anonymous user on a neptune-sync store, so they get the configured token instead.
    """
    for token in (api_token, os.environ.get("NEPTUNE_API_TOKEN")):
        if token and token.strip() != ANONYMOUS_API_TOKEN:
            return token
    return None


def durability_for(path: Path, mounts_file: str = "/proc/mounts") -> str:
    """``NEPTUNE_SYNC_DURABILITY`` if set, else ``buffered`` on a network/FUSE filesystem, else ``mmap``."""
    explicit = os.environ.get("NEPTUNE_SYNC_DURABILITY")
    if explicit:
        return explicit
    fstype = filesystem_type(path, mounts_file)
    if fstype in NETWORK_FILESYSTEMS or fstype.startswith("fuse"):
        return "buffered"
    return "mmap"


def filesystem_type(path: Path, mounts_file: str = "/proc/mounts") -> str:
    """The type of the filesystem holding ``path`` (longest mount-point prefix), or "" if unknown."""
    target = os.path.realpath(path)
    best, best_type = "", ""
    try:
        with open(mounts_file, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return ""
    for line in lines:
        parts = line.split()
        if len(parts) < 3:
            continue
        mount = parts[1].replace("\\040", " ")
        inside = target == mount or target.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best):
            best, best_type = mount, parts[2]
    return best_type
