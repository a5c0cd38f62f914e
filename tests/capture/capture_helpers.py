"""Helpers for the capture tests: run a script in a child process, read what its run logged.

The read-back replays the run's log from disk (what ``fetch()`` / ``fetch_values()`` read), without
opening the run again, so reading writes nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from neptune_sync.oplog import layout
from neptune_sync.oplog.blobs import RunBlobs
from neptune_sync.replay import replay
from neptune_sync.wire.ops import SERIES_TYPES, FieldType

GIT_ENV = {  # fixed identities and dates, no user or system git configuration
    "GIT_AUTHOR_NAME": "Ada Lovelace",
    "GIT_AUTHOR_EMAIL": "ada@example.org",
    "GIT_COMMITTER_NAME": "Charles Babbage",
    "GIT_COMMITTER_EMAIL": "cb@example.org",
    "GIT_AUTHOR_DATE": "2026-01-02T03:04:05+02:00",
    "GIT_COMMITTER_DATE": "2026-01-02T03:04:05+02:00",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}

SWITCHES = ("capture_stdout", "capture_stderr", "capture_hardware_metrics", "capture_traceback", "git_ref")
ALL_OFF: dict[str, Any] = {**dict.fromkeys(SWITCHES, False), "source_files": []}  # every capture off


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo``; its stdout."""
    env = dict(os.environ, **GIT_ENV)
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    ).stdout


def make_repo(root: Path) -> Path:
    """A repository on branch ``main`` with one commit of ``train.py`` and two remotes."""
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "train.py").write_text("print('v1')\n")
    git(root, "add", "train.py")
    git(root, "commit", "-q", "-m", "first line\n\nbody of the message")
    git(root, "remote", "add", "origin", "https://example.org/team/repo.git")
    git(root, "remote", "add", "backup", "/srv/backup/repo.git")
    return root


def run_script(
    code: str, *, cwd: Path, env: dict[str, str] | None = None, name: str = "train.py", timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Write ``code`` to ``cwd/name`` and run it with this interpreter (stdout/stderr piped)."""
    script = cwd / name
    script.write_text(textwrap.dedent(code))
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=cwd,
        env=dict(os.environ, **(env or {})),
        capture_output=True,
        timeout=timeout,
    )
    # decoded by hand: text=True would turn the \r of progress bars into \n
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


class Logged:
    """The fields of the one run in the data directory, as its log holds them."""

    def __init__(self, data_dir: Path | None = None) -> None:
        (self.run_dir,) = layout.iter_run_dirs(data_dir)
        self.tree = replay(layout.segments_dir(self.run_dir), keep_values=True)

    def paths(self, prefix: str = "") -> set[str]:
        return {path for path in self.tree.fields if path.startswith(prefix)}

    def type(self, path: str) -> str | None:
        field = self.tree.get(path)
        return None if field is None else field.type

    def value(self, path: str) -> Any:
        field = self.tree.get(path)
        assert field is not None, f"{path} was not logged; logged: {sorted(self.tree.fields)}"
        assert field.type not in SERIES_TYPES, path
        return field.value

    def series(self, path: str) -> list[tuple[float, Any, float]]:
        field = self.tree.get(path)
        assert field is not None, f"{path} was not logged; logged: {sorted(self.tree.fields)}"
        assert field.type in SERIES_TYPES, path
        return [(p.step, p.value, p.ts) for p in field.value]

    def lines(self, path: str) -> list[str]:
        return [value for _, value, _ in self.series(path)] if self.tree.get(path) else []

    def file_bytes(self, path: str) -> bytes:
        field = self.tree.get(path)
        assert field is not None and field.type == FieldType.FILE, path
        with RunBlobs(layout.blobs_dir(self.run_dir)).open(field.value.sha256) as f:
            return f.read()

    def namespaces(self) -> dict[str, set[str]]:
        """monitoring/<hash> -> the field names under it."""
        found: dict[str, set[str]] = {}
        for path in self.paths("monitoring/"):
            _, ns, *rest = path.split("/")
            found.setdefault(f"monitoring/{ns}", set()).add("/".join(rest))
        return found
