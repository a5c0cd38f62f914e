"""``neptune-sync sync`` / ``status`` / ``ls`` against a real store subprocess, as a user runs them."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

from cli_helpers import dead_address, identity, log_run, rewrite_identity, run_cli

from neptune_sync.wire.token import ApiToken

POINTS = 40


def ls_ops(key: str) -> int:
    """The OPS column `neptune-sync ls` shows for a run."""
    for line in run_cli("ls").out.splitlines():
        if line.endswith(key):
            return int(line.split()[2])
    raise AssertionError(f"{key} not in ls")


def test_one_sync_ships_what_it_may_and_names_the_fix_for_the_rest(store, tmp_path):
    ours, theirs = log_run("team/a", POINTS), log_run("other/b", POINTS)
    refused = log_run("team/a", POINTS)
    rewrite_identity(refused, project="noslash")  # a log written by a client that did not check
    result = run_cli("sync", env={"NEPTUNE_API_TOKEN": store.token})
    assert result.code == 1, result
    lines = {line.split(":")[0]: line for line in result.out.splitlines() if ":" in line}
    assert lines[ours.name].endswith("synced"), result
    # a token of another project: stops at once, names the command that makes the right token
    assert f"{ls_ops(theirs.name)} ops left" in lines[theirs.name], result
    assert "refused the API token for project 'other/b'" in lines[theirs.name], result
    assert "token create --project other/b" in lines[theirs.name], result
    assert f"{ls_ops(refused.name)} ops left" in lines[refused.name], result
    assert "'workspace/project'" in lines[refused.name], result
    assert "1/3 runs fully synced" in result.out
    # the progress is plain newline-terminated lines off a terminal
    assert "\r" not in result.err and re.search(r"^sync: [\d,]+/[\d,]+ ops acknowledged", result.err, re.M)

    # one daemon config maps each project to its token: the same data dir ships both projects
    config = tmp_path / "daemon.toml"
    config.write_text(
        f'[projects."team/*"]\napi_token = "{store.token}"\n[projects."other/b"]\napi_token = "{store.token_for("other/b")}"\n'
    )
    again = run_cli("sync", "--config", str(config), ours.name, theirs.name)
    assert again.code == 0 and "2/2 runs fully synced" in again.out, again


def test_status_names_the_missing_token_of_a_project_and_does_not_cut_run_keys(tmp_path):
    custom = "a-custom-run-id-long-enough-to-make-a-long-run-key-" + "x" * 30
    run = log_run("team/a", POINTS, custom_run_id=custom)
    config = tmp_path / "daemon.toml"
    config.write_text('[projects."other/*"]\napi_token = "x"\n')
    result = run_cli("status", "--config", str(config))
    assert result.code == 0, result
    line = next(line for line in result.out.splitlines() if line.startswith(run.name))
    assert "no API token for project 'team/a'" in line and '[projects."team/a"]' in line, result


def test_sync_gives_up_on_an_unreachable_store_after_the_printed_wait(isolated_data_dir):
    run = log_run("team/a", POINTS)
    token = ApiToken(dead_address(), "nss_x").format()
    result = run_cli("sync", "--timeout", "1", env={"NEPTUNE_API_TOKEN": token}, timeout=60)
    assert result.code == 1, result
    assert "retrying for up to 1 s (--timeout SECONDS changes this)" in result.err, result
    assert "gave up after 1 s" in result.err, result
    assert f"{run.name}: {ls_ops(run.name)} ops left" in result.out, result


def test_ls_fits_imported_36_character_ids_and_verify_counts_what_ls_counts(isolated_data_dir):
    run = log_run("team/a", POINTS)
    run_id = str(uuid.uuid4())  # what importers give runs
    rewrite_identity(run, run_id=run_id)
    out = run_cli("ls").out
    row = next(line for line in out.splitlines() if line.startswith(run_id))
    assert row.split()[:2] == [run_id, "team/a"], out
    verify = run_cli("verify", run.name)
    assert verify.code == 0 and f"{run.name}: {ls_ops(run.name)} ops" in verify.out, verify


def test_status_exits_1_when_a_run_lost_data(isolated_data_dir):
    run = log_run("team/a", POINTS)
    assert run_cli("status").code == 0
    segment = next((run / "segments").iterdir())
    data = bytearray(segment.read_bytes())
    data[200] ^= 0xFF  # inside the first records, past the header
    segment.write_bytes(bytes(data))
    result = run_cli("status")
    assert result.code == 1 and "lost data" in result.err and "neptune-sync verify" in result.err, result


def test_the_readme_snippet_runs_as_written(tmp_path, isolated_data_dir):
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    snippet = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    proc = subprocess.run(
        [sys.executable, "-c", snippet], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    (run,) = (isolated_data_dir / "runs").iterdir()
    assert identity(run)["project"] == "team/vision"
    assert ls_ops(run.name) >= 1000
