"""Helpers for the integration tests: read-back of series, the daemon tests' store model."""

from __future__ import annotations

import importlib.util
from pathlib import Path

PROJECT = "team/proj"


def load_daemon_helpers():
    """tests/daemon/conftest.py as a module, for its RunFactory (store views and the expected model)."""
    path = Path(__file__).parent.parent / "daemon" / "conftest.py"
    spec = importlib.util.spec_from_file_location("daemon_test_helpers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def series(run, path):
    """A series' points as [(step, value)] from the local read-back."""
    frame = run[path].fetch_values(include_timestamp=False)
    return [(float(s), v) for s, v in zip(frame["step"], frame["value"], strict=True)]


def fileset_names(run, path, destination):
    """The relative names of a FileSet's files, whether download() gives a directory or a zip."""
    import zipfile

    out = Path(run[path].download(str(destination)))
    if out.is_file() and zipfile.is_zipfile(out):
        with zipfile.ZipFile(out) as zf:
            return {name for name in zf.namelist() if not name.endswith("/")}
    return {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
