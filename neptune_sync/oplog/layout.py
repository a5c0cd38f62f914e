"""Where runs live on disk: the data directory and each run's directory.

::

    $NEPTUNE_SYNC_DIR (default: $XDG_DATA_HOME/neptune-sync, i.e. ~/.local/share/neptune-sync)
      runs/<run_key>/
        run.json          identity of the run (written once, atomically, by the first writer)
        segments/         <writer_id>-<index>.seg: the operation log (neptune_sync.oplog.writer)
        blobs/<aa>/<sha256>   uploaded file contents, content-addressed (neptune_sync.oplog.blobs)
        sync/             the sync daemon's state for this run (cursors, quarantine); daemon-owned
        import/           records of `neptune-sync import` (imported ranges, kept-aside ops); importer-owned

``run_key`` is the run's stable name on every machine: derived from (project, custom_run_id) when a
custom run id is given, so DDP ranks and nodes sharing it land in the same run here and in the store;
otherwise the run's own id.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import msgspec

DATA_DIR_ENV = "NEPTUNE_SYNC_DIR"


class RunIdentity(msgspec.Struct, frozen=True):
    """The contents of run.json."""

    project: str
    run_key: str
    run_id: str
    custom_run_id: str = ""
    created: float = 0.0
    mode: str = "async"
    kind: str = "run"  # "run", "project" (init_project's fields), "model" or "model_version"
    model_id: str = ""  # a model version's model ("PROJ-KEY")


def data_dir() -> Path:
    """The data directory (``NEPTUNE_SYNC_DIR`` overrides the per-user default)."""
    explicit = os.environ.get(DATA_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "neptune-sync"


def runs_dir(root: Path | None = None) -> Path:
    return (root or data_dir()) / "runs"


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _slug(text: str, limit: int = 40) -> str:
    return _UNSAFE.sub("_", text).strip("._")[:limit] or "x"


def run_key_for(project: str, *, run_id: str = "", custom_run_id: str = "") -> str:
    """The directory name of a run: readable, filesystem-safe, unique per (project, identity)."""
    ident = f"c:{custom_run_id}" if custom_run_id else f"i:{run_id}"
    digest = hashlib.sha256(f"{project}\0{ident}".encode()).hexdigest()[:16]
    return f"{_slug(project)}--{_slug(custom_run_id or run_id)}--{digest}"


def run_dir(run_key: str, root: Path | None = None) -> Path:
    return runs_dir(root) / run_key


def segments_dir(run_path: Path) -> Path:
    return run_path / "segments"


def blobs_dir(run_path: Path) -> Path:
    return run_path / "blobs"


def sync_state_dir(run_path: Path) -> Path:
    return run_path / "sync"


_identity_decoder = msgspec.json.Decoder(RunIdentity)


def read_identity(run_path: Path) -> RunIdentity:
    return _identity_decoder.decode((run_path / "run.json").read_bytes())


def claim_identity(run_path: Path, identity: RunIdentity) -> RunIdentity:
    """Write run.json unless another process already did; return the identity that holds.

    Atomic: the file is written under a temporary name and hard-linked into place, which fails
    if it exists, so concurrent first writers agree on one identity.
    """
    run_path.mkdir(parents=True, exist_ok=True)
    final = run_path / "run.json"
    if final.exists():
        return read_identity(run_path)
    tmp = run_path / f".run.json.{os.getpid()}.{id(identity)}.tmp"
    tmp.write_bytes(msgspec.json.encode(identity))
    try:
        os.link(tmp, final)
    except FileExistsError:
        return read_identity(run_path)
    finally:
        tmp.unlink(missing_ok=True)
    return identity


def iter_run_dirs(root: Path | None = None) -> list[Path]:
    """Run directories under the data dir that have an identity, sorted by name."""
    base = runs_dir(root)
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if (p / "run.json").is_file())
