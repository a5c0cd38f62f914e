"""The unit files pass ``systemd-analyze verify`` (skipped where systemd-analyze is missing), share
one hardening, link only to documentation that exists, and the store speaks sd_notify."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "systemd"
DAEMON = Path(sys.executable).with_name("neptune-syncd")
CLI = Path(sys.executable).with_name("neptune-sync")
REPO = UNITS.parent
ALL_UNITS = ["neptune-syncd.service", "user/neptune-syncd.service", "neptune-sync-store.service"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not available")
@pytest.mark.parametrize("unit", ALL_UNITS)
def test_unit_file_verifies(unit, tmp_path):
    text = (UNITS / unit).read_text()
    assert "Type=notify" in text and "Restart=on-failure" in text and "WatchdogSec=" in text
    # verify checks that ExecStart exists: point it at this environment's neptune-syncd
    text = (
        text.replace("/usr/local/bin/neptune-syncd", str(DAEMON))
        .replace("%h/.local/bin/neptune-syncd", str(DAEMON))
        .replace("/usr/local/bin/neptune-sync ", f"{CLI} ")
    )
    copy = tmp_path / Path(unit).name
    copy.write_text(text)
    proc = subprocess.run(
        ["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60, check=False
    )
    problems = [line for line in proc.stderr.splitlines() if copy.name in line]
    assert proc.returncode == 0 and not problems, proc.stderr


def hardening(unit: str) -> list[str]:
    lines = (UNITS / unit).read_text().split("# Hardening:", 1)[1].splitlines()[1:]
    return [line for line in lines if "=" in line and not line.startswith(("ReadWritePaths", "ProtectHome"))]


@pytest.mark.parametrize("unit", ["neptune-syncd.service", "neptune-sync-store.service"])
def test_system_units_name_their_own_user_and_share_the_hardening(unit):
    text = (UNITS / unit).read_text()
    for line in ("User=", "NoNewPrivileges=yes", "ProtectSystem=strict", "TimeoutStopSec=", "WatchdogSec="):
        assert line in text
    assert hardening(unit) == hardening("neptune-syncd.service")
    users = {
        u: (UNITS / u).read_text().split("User=", 1)[1].split()[0] for u in ("neptune-syncd.service", unit)
    }
    assert unit == "neptune-syncd.service" or len(set(users.values())) == 2  # the store runs as its own user


@pytest.mark.parametrize("unit", ALL_UNITS)
def test_units_link_only_to_documentation_that_exists(unit):
    text = (UNITS / unit).read_text()
    links = re.findall(r"^Documentation=(\S+)", text, re.M)
    assert links
    for link in links:
        doc = link.split("/blob/main/", 1)[1]
        assert (REPO / doc).is_file(), link
    for doc, section in re.findall(r"\((docs/[\w.-]+\.md), \"([^\"]+)\"\)", text):
        assert f"## {section}" in (REPO / doc).read_text(), (doc, section)


def test_the_store_tells_systemd_ready_watchdog_and_stopping(tmp_path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(20)
    env = {**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "200000"}
    argv = [str(CLI), "server", "--port", "0", "--data", str(tmp_path / "store")]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True)
    try:
        messages = [sock.recv(4096).decode()]
        assert "READY=1" in messages[0] and "STATUS=serving http://127.0.0.1:" in messages[0]
        assert sock.recv(4096) == b"WATCHDOG=1"
        assert sock.recv(4096) == b"WATCHDOG=1"  # again, at half the interval
        proc.send_signal(signal.SIGTERM)
        while (message := sock.recv(4096)) == b"WATCHDOG=1":
            pass
        assert message == b"STOPPING=1"
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()
        sock.close()
