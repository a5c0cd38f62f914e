"""Every entry point runs with ``python -m``: each import name in the folder list is a command."""

from __future__ import annotations

import subprocess
import sys

import pytest

# import name -> the program its usage line names
ENTRY_POINTS = {
    "neptune_sync": "usage: neptune-sync ",
    "neptune_syncd": "usage: neptune-syncd ",
    "neptune_sync_store": "usage: neptune-sync server ",
}


@pytest.mark.parametrize("module", sorted(ENTRY_POINTS))
def test_python_dash_m_runs_the_command(module):
    out = subprocess.run(
        [sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(ENTRY_POINTS[module])
