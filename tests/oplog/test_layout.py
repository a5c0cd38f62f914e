"""Run directories: stable run keys, and one identity when several processes start a run at once."""

from __future__ import annotations

import subprocess
import sys
import time

from neptune_sync.oplog.layout import RunIdentity, claim_identity, read_identity, run_key_for

_CLAIM = """
import sys, time
from pathlib import Path
from neptune_sync.oplog.layout import RunIdentity, claim_identity
start = float(sys.argv[3])
time.sleep(max(0.0, start - time.time()))  # all claim at about the same instant
me = RunIdentity(project="ws/p", run_key="k", run_id=sys.argv[2])
print(claim_identity(Path(sys.argv[1]), me).run_id)
"""


def test_processes_starting_one_run_at_once_agree_on_one_identity(tmp_path):
    run = tmp_path / "run"
    start = str(time.time() + 1.0)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CLAIM, str(run), f"rank{i}", start], stdout=subprocess.PIPE, text=True
        )
        for i in range(6)
    ]
    winners = {proc.communicate(timeout=60)[0].strip() for proc in procs}
    assert len(winners) == 1 and winners.pop() == read_identity(run).run_id
    assert [p.name for p in run.iterdir()] == ["run.json"]  # no temporary file left behind


def test_a_second_claim_returns_the_first_identity(tmp_path):
    first = RunIdentity(project="ws/p", run_key="k", run_id="A")
    assert claim_identity(tmp_path, first) == first
    assert claim_identity(tmp_path, RunIdentity(project="ws/p", run_key="k", run_id="B")) == first


def test_run_keys_are_stable_safe_and_distinct():
    key = run_key_for("ws/proj", custom_run_id="ddp job/7")
    assert key == run_key_for("ws/proj", run_id="ignored", custom_run_id="ddp job/7")
    assert "/" not in key and " " not in key and key.startswith("ws_proj--ddp_job_7--")
    others = {
        run_key_for("ws/proj", custom_run_id="ddp job 7"),  # same slug, other id
        run_key_for("ws/other", custom_run_id="ddp job/7"),
        run_key_for("ws/proj", run_id="ddp job/7"),  # a run id is not a custom run id
    }
    assert key not in others and len(others) == 3
