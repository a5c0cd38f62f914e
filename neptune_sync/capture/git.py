"""The git state of the code a run ran: neptune 1.x's ``source_code/git`` and uncommitted diffs.

The repository is found by walking up from the GitRef's directory to a ``.git`` entry (no
process is started outside a repository). Then three read-only ``git`` commands run side by side
(``status``, ``show -s`` and ``config``: about the wall time of the slowest, 20 ms against 35 ms one
after another on a loaded 2-core machine), with no git library to import; only a dirty tree adds
``git diff HEAD`` and, when the branch has an upstream at another commit, ``git diff <upstream>``. ``GIT_OPTIONAL_LOCKS=0`` keeps ``status`` from writing the index.
No ``git`` executable, an empty repository or any git error: no git fields, no error.

Fields (1.x's GitInfo, one field each under ``source_code/git/``): ``commit_id``, ``message``,
``author_name``, ``author_email``, ``commit_date`` (datetime), ``dirty`` (bool, untracked files
count), ``branch`` (``"Detached HEAD"`` when detached), ``remotes`` (string set of URLs). Files:
``source_code/diff`` (``git diff HEAD``) and ``source_code/upstream_diff_<sha>``, extension
``patch``, as 1.x.
"""

from __future__ import annotations

import datetime as _dt
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

GIT_TIMEOUT = 10.0  # seconds per git command
DETACHED = "Detached HEAD"
_ENV = {"GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"}
_SHOW_FORMAT = "%H%x00%an%x00%ae%x00%cI%x00%B"


@dataclass(frozen=True)
class GitInfo:
    commit_id: str
    message: str
    author_name: str
    author_email: str
    commit_date: _dt.datetime
    dirty: bool
    branch: str
    remotes: list[str]
    upstream: str | None  # the upstream branch's name (``origin/main``), if the branch has one


def find_root(start: Path) -> Path | None:
    """The directory holding ``.git`` at or above ``start``."""
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return None


def read_info(root: Path) -> GitInfo | None:
    """The repository's commit, branch, remotes and dirtiness; None when git cannot tell."""
    try:
        status, show, config = _run_all(
            root,
            ["status", "--porcelain=v2", "--branch", "-z"],
            ["show", "-s", f"--format={_SHOW_FORMAT}", "HEAD"],
            ["config", "-z", "--get-regexp", r"^remote\..*\.url$"],
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if status is None or show is None:
        return None
    commit_id, author, email, date, message = show.split("\0", 4)
    entries = [e for e in status.split("\0") if e]
    heads = dict(e[2:].split(" ", 1) for e in entries if e.startswith("# ") and " " in e[2:])
    branch = heads.get("branch.head", "")
    return GitInfo(
        commit_id=commit_id,
        message=message,
        author_name=author,
        author_email=email,
        commit_date=_dt.datetime.fromisoformat(date),
        dirty=any(not e.startswith("#") for e in entries),
        branch=DETACHED if branch == "(detached)" else branch,
        remotes=[item.split("\n", 1)[1] for item in (config or "").split("\0") if "\n" in item],
        upstream=heads.get("branch.upstream"),
    )


def read_diffs(root: Path, info: GitInfo) -> tuple[str | None, str | None, str | None]:
    """(diff against HEAD, upstream commit sha, diff against it) for a dirty tree, as 1.x."""
    if not info.dirty:
        return None, None, None
    commands = [["diff", "HEAD"]]
    if info.upstream:
        commands.append(["rev-parse", "--verify", "--quiet", f"{info.upstream}^{{commit}}"])
    head_diff, *upstream = _run_all(root, *commands)
    sha = (upstream[0] or "").strip() if upstream else ""
    if not sha or sha == info.commit_id:
        return head_diff or None, None, None
    (upstream_diff,) = _run_all(root, ["diff", sha])
    return head_diff or None, sha, upstream_diff or None


def _run_all(root: Path, *commands: list[str]) -> list[str | None]:
    """Run git commands side by side; each gives its stdout, or None if it failed."""
    env = dict(os.environ, **_ENV)
    procs = [
        subprocess.Popen(
            ["git", "-C", str(root), "-c", "core.quotepath=off", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        for args in commands
    ]
    results: list[str | None] = []
    for proc in procs:
        try:
            out, _ = proc.communicate(timeout=GIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            results.append(None)
            continue
        results.append(out.decode("utf-8", "replace") if proc.returncode == 0 else None)
    return results
