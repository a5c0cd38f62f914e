"""The README's demo runs end to end: offline log, store, one-shot sync, daemon, read-back."""

from __future__ import annotations

import os
import subprocess
import sys

from neptune_sync.wire.daemon import daemon_running


def test_demo_syncs_both_runs_and_reads_them_back_from_the_store(tmp_path):
    workdir = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEPTUNE_", "XDG_"))}
    out = subprocess.run(
        [sys.executable, "-m", "neptune_sync.cli", "demo", "--dir", str(workdir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1/1 runs fully synced" in out.stdout
    assert out.stdout.count("train/loss has 500 points") == 2
    assert out.stdout.count("identical: True") == 2
    assert not daemon_running(workdir / "client"), "the demo left its daemon running"
