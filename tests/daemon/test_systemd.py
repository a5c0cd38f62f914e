"""The unit files pass ``systemd-analyze verify`` (skipped where systemd-analyze is missing)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "systemd"
DAEMON = Path(sys.executable).with_name("neptune-syncd")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not available")
@pytest.mark.parametrize("unit", ["neptune-syncd.service", "user/neptune-syncd.service"])
def test_unit_file_verifies(unit, tmp_path):
    text = (UNITS / unit).read_text()
    assert "Type=notify" in text and "Restart=on-failure" in text and "WatchdogSec=" in text
    # verify checks that ExecStart exists: point it at this environment's neptune-syncd
    text = text.replace("/usr/local/bin/neptune-syncd", str(DAEMON)).replace(
        "%h/.local/bin/neptune-syncd", str(DAEMON)
    )
    copy = tmp_path / "neptune-syncd.service"
    copy.write_text(text)
    proc = subprocess.run(
        ["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60, check=False
    )
    problems = [line for line in proc.stderr.splitlines() if "neptune-syncd.service" in line]
    assert proc.returncode == 0 and not problems, proc.stderr


def test_system_unit_names_a_user_and_hardening():
    text = (UNITS / "neptune-syncd.service").read_text()
    for line in ("User=", "NoNewPrivileges=yes", "ProtectSystem=strict", "TimeoutStopSec="):
        assert line in text
