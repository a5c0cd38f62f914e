"""Helpers for the compat tests: run neptune 1.x scripts in child processes and view what they logged.

The views reuse the daemon tests' helpers (tests/daemon/conftest.py ``RunFactory``): ``normalized``
turns the store model's values (tests/daemon/store_model.py) into the store's read-API shapes,
``store_view`` reads a run from a real store's storage. The local model applies a run's records in timestamp order across
its writers: a resumed run or a project opened by two scripts has one writer per process, one after
the other.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from neptune_sync.oplog import layout
from neptune_sync.oplog.reader import read_run

sys.path.insert(0, str(Path(__file__).parents[1] / "daemon"))  # store_model
from store_model import MemoryStore  # noqa: E402

SCRIPTS = Path(__file__).parent / "scripts"
PROJECT = "common/examples"

_spec = importlib.util.spec_from_file_location(
    "daemon_test_helpers", Path(__file__).parents[1] / "daemon" / "conftest.py"
)
_daemon_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_daemon_helpers)
RunFactory = _daemon_helpers.RunFactory


def run_script(name: str, workdir: Path, env: dict[str, str], expect_status: int = 0) -> None:
    """Run ``scripts/<name>.py`` unmodified with ``python`` in ``workdir``."""
    out = subprocess.run(
        [sys.executable, str(SCRIPTS / f"{name}.py")],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == expect_status, f"{name}: exit {out.returncode}\n{out.stdout}\n{out.stderr}"


def script_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NEPTUNE_MODE"}
    env.update(extra)
    return env


def local_view(run_path: Path) -> dict[str, tuple[str, Any]]:
    """A run as the store should hold it: its log applied to the store model, in timestamp order."""
    model = MemoryStore()
    entries = sorted((entry for _, entry in read_run(layout.segments_dir(run_path))), key=lambda e: e.ts)
    model.apply_log("run", entries)
    return RunFactory.normalized(model.values("run"))


def local_views() -> dict[str, dict[str, tuple[str, Any]]]:
    """Every run (and project) in the data dir, by run key."""
    return {path.name: local_view(path) for path in layout.iter_run_dirs()}


async def store_views(storage: Any, run_keys: list[str]) -> dict[str, dict[str, tuple[str, Any]]]:
    return {key: await RunFactory.store_view(storage, key, PROJECT) for key in run_keys}
