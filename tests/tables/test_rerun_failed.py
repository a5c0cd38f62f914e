"""The "re-run failed training" flow end to end, on SQLite and PostgreSQL: a 1.x script trains
three runs offline (one crashes), ``neptune-sync sync`` ships them to a real store, and a second
1.x script, in another process, finds the failed run with ``fetch_runs_table(state="inactive",
query="sys/failed:bool = True")``, reopens it by id and reads its parameters."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from store_helpers import PROJECT

pytestmark = pytest.mark.asyncio
SCRIPTS = Path(__file__).parent / "scripts"
NEPTUNE_SYNC = Path(sys.executable).parent / "neptune-sync"


def run(argv: list[str], env: dict[str, str], cwd: Path) -> str:
    out = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, f"{argv}: exit {out.returncode}\n{out.stdout}\n{out.stderr}"
    return out.stdout


async def test_rerun_failed_training_finds_the_crashed_run_and_its_parameters(any_store, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEPTUNE")}
    env |= {"NEPTUNE_PROJECT": PROJECT, "NEPTUNE_SYNC_DIR": str(tmp_path / "data"), "NEPTUNE_MODE": "offline"}
    await asyncio.to_thread(run, [sys.executable, str(SCRIPTS / "train.py")], env, tmp_path)
    env["NEPTUNE_API_TOKEN"] = await any_store.token(PROJECT)
    await asyncio.to_thread(run, [str(NEPTUNE_SYNC), "sync", "-q"], env, tmp_path)
    del env["NEPTUNE_MODE"]
    printed = await asyncio.to_thread(run, [sys.executable, str(SCRIPTS / "rerun_failed.py")], env, tmp_path)
    found = [json.loads(line) for line in printed.splitlines()]
    assert [(f["name"], f["parameters"]) for f in found] == [
        ("lr-0.3", {"lr": 0.3, "batch_size": 32, "optimizer": "sgd"})
    ]
    assert found[0]["id"].startswith("PROJ-")
