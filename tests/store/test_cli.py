"""``neptune-sync server`` as a real child process: prints its URL, serves, mints tokens, stops on SIGTERM."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import urllib.error
import urllib.request

import pytest
from store_helpers import CLI, start_server, stop

from neptune_sync.store_client import StoreClient
from neptune_sync.wire.token import parse_token


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


def test_server_serves_https_with_the_given_certificate(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    proc, url = start_server(tmp_path, "--tls-cert", str(cert), "--tls-key", str(key))
    try:
        assert url.startswith("https://127.0.0.1:")
        trusting = ssl.create_default_context(cafile=str(cert))
        with urllib.request.urlopen(f"{url}/v1/health", timeout=10, context=trusting) as resp:
            assert json.loads(resp.read())["status"] == "ok"
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            urllib.request.urlopen(f"{url}/v1/health", timeout=10)
    finally:
        assert stop(proc) == 0


def test_tls_cert_without_key_is_refused(tmp_path):
    out = subprocess.run(
        [*CLI, "server", "--tls-cert", "x.pem", "--data", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "go together" in out.stderr
