"""``source_code/git/*`` and the uncommitted diffs, against what git itself says about the repo."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from capture_helpers import ALL_OFF, git

import neptune_sync as neptune
from neptune_sync.types import GitRef


def record(monkeypatch: pytest.MonkeyPatch, cwd: Path, **kwargs: object) -> neptune.Run:
    monkeypatch.chdir(cwd)
    options = {**ALL_OFF, "git_ref": None, **kwargs}
    run = neptune.init_run(mode="offline", **options)
    run.stop()
    return run


def test_a_dirty_tree_gives_every_field_and_the_diff_against_head(repo, tmp_path, monkeypatch):
    (repo / "train.py").write_text("print('v2')\n")
    (repo / "untracked.txt").write_text("new\n")
    run = record(monkeypatch, repo)
    values = run.fetch()["source_code"]["git"]
    assert values == {
        "commit_id": git(repo, "rev-parse", "HEAD").strip(),
        "message": git(repo, "log", "-1", "--format=%B"),
        "author_name": "Ada Lovelace",
        "author_email": "ada@example.org",
        "commit_date": dt.datetime(2026, 1, 2, 1, 4, 5, tzinfo=dt.timezone.utc),
        "dirty": True,
        "branch": "main",
        "remotes": {"https://example.org/team/repo.git", "/srv/backup/repo.git"},
    }
    assert values["message"].startswith("first line\n\nbody of the message")
    diff = run["source_code/diff"].download(str(tmp_path / "diff.patch"))
    assert diff.read_text() == git(repo, "diff", "HEAD") and "+print('v2')" in diff.read_text()
    assert run.get_structure()["source_code"]["diff"] == "file"
    assert not any(k.startswith("upstream_diff_") for k in run.get_structure()["source_code"])


def test_untracked_files_alone_make_the_tree_dirty_but_give_no_diff(repo, monkeypatch):
    (repo / "untracked.txt").write_text("new\n")
    run = record(monkeypatch, repo)
    assert run["source_code/git/dirty"].fetch() is True
    assert not run.exists("source_code/diff")  # git diff HEAD is empty, as in neptune 1.x


def test_a_clean_tree_in_a_subdirectory(repo, monkeypatch):
    (repo / "pkg").mkdir()
    run = record(monkeypatch, repo / "pkg")
    assert run["source_code/git/dirty"].fetch() is False
    assert run["source_code/git/commit_id"].fetch() == git(repo, "rev-parse", "HEAD").strip()
    assert not run.exists("source_code/diff")


def test_a_detached_head(repo, monkeypatch):
    (repo / "train.py").write_text("print('v2')\n")
    git(repo, "commit", "-q", "-am", "second")
    first = git(repo, "rev-parse", "HEAD~1").strip()
    git(repo, "checkout", "-q", first)
    run = record(monkeypatch, repo)
    assert run["source_code/git/branch"].fetch() == "Detached HEAD"
    assert run["source_code/git/commit_id"].fetch() == first
    assert run["source_code/git/dirty"].fetch() is False


def test_the_diff_against_the_upstream_branch(repo, tmp_path, monkeypatch):
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    upstream = git(clone, "rev-parse", "origin/main").strip()
    (clone / "train.py").write_text("print('local commit')\n")
    git(clone, "commit", "-q", "-am", "local")
    (clone / "train.py").write_text("print('uncommitted')\n")
    run = record(monkeypatch, clone)
    field = f"source_code/upstream_diff_{upstream}"
    assert run.get_structure()["source_code"][f"upstream_diff_{upstream}"] == "file"
    got = run[field].download(str(tmp_path / "up.patch")).read_text()
    assert got == git(clone, "diff", upstream) and "+print('uncommitted')" in got
    head = run["source_code/diff"].download(str(tmp_path / "head.patch")).read_text()
    assert head == git(clone, "diff", "HEAD")


def test_no_repository_no_git_fields_and_no_error(tmp_path, monkeypatch, caplog):
    plain = tmp_path / "plain"
    plain.mkdir()
    run = record(monkeypatch, plain)
    assert not run.exists("source_code/git") and not run.exists("source_code/diff")
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]


def test_an_empty_repository_or_no_git_executable_gives_no_fields(repo, tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    assert not record(monkeypatch, empty).exists("source_code/git")
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    assert not record(monkeypatch, repo).exists("source_code/git")


@pytest.mark.parametrize("off", [False, GitRef.DISABLED])
def test_git_ref_false_or_disabled_records_nothing(repo, monkeypatch, caplog, off):
    (repo / "train.py").write_text("print('v2')\n")
    run = record(monkeypatch, repo, git_ref=off)
    assert not run.exists("source_code/git") and not run.exists("source_code/diff")
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]


def test_git_ref_with_a_repository_path_reads_that_repository(repo, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = record(monkeypatch, elsewhere, git_ref=GitRef(repository_path=repo / "sub" / ".."))
    assert run["source_code/git/commit_id"].fetch() == git(repo, "rev-parse", "HEAD").strip()
    assert repr(GitRef.DISABLED) == "GitRef.DISABLED" and GitRef.DISABLED.resolve_path() is None


def test_a_resumed_run_keeps_its_git_state(repo, monkeypatch):
    run = record(monkeypatch, repo, custom_run_id="resume-git")
    first = run["source_code/git/commit_id"].fetch()
    (repo / "train.py").write_text("print('v3')\n")
    git(repo, "commit", "-q", "-am", "third")
    again = record(monkeypatch, repo, custom_run_id="resume-git")
    assert again["source_code/git/commit_id"].fetch() == first
