"""``neptune-sync server`` as a real child process: prints its URL, serves, mints tokens, stops on SIGTERM."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from neptune_sync.store_client import StoreClient
from neptune_sync.token import parse_token

CLI = [sys.executable, "-m", "neptune_sync.cli"]


def start_server(data: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [*CLI, "server", "--port", "0", "--data", str(data), *extra], stdout=subprocess.PIPE, text=True
    )
    ready, _, _ = select.select([proc.stdout], [], [], 20)
    if not ready:
        proc.kill()
        proc.wait(10)
        proc.stdout.close()
        pytest.fail("server printed no URL within 20 s")
    return proc, proc.stdout.readline().strip()


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()


def test_server_prints_its_url_serves_and_stops_cleanly_on_sigterm(tmp_path):
    proc, url = start_server(tmp_path, "--token-project", "ws/proj", "--token-file", str(tmp_path / "token"))
    try:
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{url}/v1/health", timeout=10) as resp:
            assert json.loads(resp.read()) == {"status": "ok", "protocol": 1}
        token = (tmp_path / "token").read_text().strip()
        assert parse_token(token).address == url
        assert os.stat(tmp_path / "token").st_mode & 0o777 == 0o600
        assert StoreClient.from_token(token, timeout=10).find_run("ws/proj", "none") is None
    finally:
        assert stop(proc) == 0
    assert (tmp_path / "store.sqlite3").is_file()


def test_token_create_mints_a_token_the_server_accepts(tmp_path):
    out = subprocess.run(
        [
            *CLI,
            "server",
            "token",
            "create",
            "--project",
            "ws/proj",
            "--scope",
            "read",
            "--data",
            str(tmp_path),
            "--url",
            "http://h:1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    token = out.stdout.strip()
    assert parse_token(token).address == "http://h:1"
    proc, url = start_server(tmp_path)
    try:
        assert StoreClient(url, token, timeout=10).find_run("ws/proj", "none") is None
    finally:
        stop(proc)


def test_token_create_refuses_a_bad_project(tmp_path):
    out = subprocess.run(
        [*CLI, "server", "token", "create", "--project", "noslash", "--data", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "workspace/project" in out.stderr and "Traceback" not in out.stderr
