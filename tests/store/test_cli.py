"""``neptune-sync server`` as a real child process: prints its URL, serves, mints tokens, stops on SIGTERM."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request

from store_helpers import CLI, start_server, stop

from neptune_sync.store_client import StoreClient
from neptune_sync.token import parse_token


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
