"""Helpers of tests/cli: the ``neptune-sync`` console script as a user runs it (a subprocess, its
exit code and its output), and runs and stores to run it on."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent
CLI = str(BIN / "neptune-sync")


@dataclass
class Result:
    code: int
    out: str
    err: str

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120, cwd: Path | None = None
) -> Result:
    """Run the console script; a user mistake must never show a traceback."""
    proc = subprocess.run(
        [CLI, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )
    result = Result(proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in result.err, result
    return result


def python(code: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Result:
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def log_run(project: str, points: int = 50, **kwargs: str) -> Path:
    """Log an offline run of ``project`` in this test's data dir; returns its run directory."""
    import neptune_sync as neptune

    run = neptune.init_run(project=project, mode="offline", **kwargs)
    for step in range(points):
        run["loss"].append(1 / (step + 1), step=step)
    path = run.run_path
    run.stop()
    return path


def identity(run_path: Path) -> dict:
    return json.loads((run_path / "run.json").read_text())


def rewrite_identity(run_path: Path, **fields: str) -> None:
    """Change a run's identity the way another writer (an importer, an older client) may have left it."""
    ident = identity(run_path)
    ident.update(fields)
    (run_path / "run.json").write_text(json.dumps(ident))


@dataclass
class Store:
    url: str
    token: str  # read + write token of the project the store was started for
    data: Path

    def token_for(self, project: str) -> str:
        return run_cli(
            "server", "token", "create", "--project", project, "--data", str(self.data), "--url", self.url
        ).out.strip()


def dead_address() -> str:
    """An address where nothing listens (a port bound and closed again)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
