"""What a network sees: TLS verified by clients (system CAs, a CA file, or the CA a token carries),
plain HTTP refused beyond loopback, security headers, no CORS, and private files on disk."""

from __future__ import annotations

import os
import shutil
import ssl
import stat
import subprocess
from pathlib import Path

import aiohttp
import anyio
import pytest
from store_helpers import CLI, TIMEOUT, start_server, stop

from neptune_sync.exceptions import StoreError
from neptune_sync.store_client import StoreClient
from neptune_sync.tls import CA_FILE_ENV
from neptune_sync.wire.protocol import RunInfo
from neptune_sync_store.config import StoreConfig
from neptune_sync_store.context import CONTEXT
from neptune_sync_store.server import serve, tls_context
from neptune_syncd.sinks.http import HttpSink

PROJECT = "team/proj"


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    """A private CA and a certificate it signed for 127.0.0.1 (openssl)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("pki")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=60)

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=test CA",
    )
    run(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    )
    (d / "ext").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    run(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext",
    )
    return {"ca": d / "ca.pem", "cert": d / "server.pem", "key": d / "server.key"}


@pytest.mark.asyncio
async def test_clients_verify_the_store_certificate(pki, tmp_path, monkeypatch):
    monkeypatch.delenv(CA_FILE_ENV, raising=False)
    tls = tls_context(str(pki["cert"]), str(pki["key"]))
    async with serve(StoreConfig(tmp_path / "store"), tls=tls) as store:
        assert store.url.startswith("https://127.0.0.1:")
        with_ca = await store.token(PROJECT, ca=pki["ca"].read_text())
        without = await store.token(PROJECT)
        # the read client: the CA in the token, else the CA file, else the system CAs (which fail here)
        assert await anyio.to_thread.run_sync(StoreClient.from_token(with_ca).find_run, PROJECT, "x") is None
        with pytest.raises(StoreError, match="CERTIFICATE_VERIFY_FAILED"):
            await anyio.to_thread.run_sync(StoreClient.from_token(without).find_run, PROJECT, "x")
        monkeypatch.setenv(CA_FILE_ENV, str(pki["ca"]))
        assert await anyio.to_thread.run_sync(StoreClient.from_token(without).find_run, PROJECT, "x") is None
        monkeypatch.delenv(CA_FILE_ENV)
        # the daemon's sink likewise
        run = RunInfo(PROJECT, "r", "R-1")
        sink = HttpSink(store.url, with_ca)
        await sink.open()
        try:
            assert await sink.acked_seq(run, "w1") == 0
        finally:
            await sink.close()
        sink = HttpSink(store.url, without)
        await sink.open()
        try:
            with pytest.raises(Exception, match="certificate verify failed|CERTIFICATE_VERIFY_FAILED"):
                await sink.acked_seq(run, "w1")
        finally:
            await sink.close()
        verifying = ssl.create_default_context(cafile=str(pki["ca"]))
        async with (
            aiohttp.ClientSession() as s,
            s.get(f"{store.url}/v1/health", ssl=verifying, timeout=TIMEOUT) as resp,
        ):
            assert resp.headers["Strict-Transport-Security"].startswith("max-age=")


def test_plain_http_beyond_loopback_is_refused_unless_insecure(tmp_path):
    proc = subprocess.run(
        [
            *CLI,
            "server",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--data",
            str(tmp_path / "s"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "refusing to serve plain HTTP on '0.0.0.0'" in proc.stderr and "--insecure" in proc.stderr
    assert "Traceback" not in proc.stderr
    server, url = start_server(tmp_path / "s2", "--host", "0.0.0.0", "--insecure")
    try:
        assert url.startswith("http://0.0.0.0:")
    finally:
        assert stop(server) == 0


@pytest.mark.asyncio
async def test_security_headers_and_no_cors(store):
    token = await store.token(PROJECT)
    evil = {"Origin": "https://evil.example"}
    async with aiohttp.ClientSession() as s:
        for path, headers in (
            ("/v1/health", evil),
            ("/v1/projects", {**evil, "Authorization": f"Bearer {token}"}),
            ("/v1/projects", evil),  # an error response too
            ("/", evil),
        ):
            async with s.get(store.url + path, headers=headers, timeout=TIMEOUT) as resp:
                assert resp.status < 500
                assert resp.headers["X-Content-Type-Options"] == "nosniff", path
                assert "X-Frame-Options" in resp.headers or "frame-ancestors 'none'" in resp.headers.get(
                    "Content-Security-Policy", ""
                )
                assert not any(h.lower().startswith("access-control-") for h in resp.headers), path
                if path.startswith("/v1/"):
                    assert resp.headers["Cache-Control"] == "no-store"
        preflight = {**evil, "Access-Control-Request-Method": "POST"}
        async with s.options(f"{store.url}/v1/batches", headers=preflight, timeout=TIMEOUT) as resp:
            assert resp.status == 405
            assert not any(h.lower().startswith("access-control-") for h in resp.headers)


@pytest.mark.asyncio
async def test_the_data_directory_and_database_are_private(store):
    data = store.app[CONTEXT].config.data_dir
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for name in ("store.sqlite3", "store.sqlite3-wal"):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name
    old = os.umask(0)
    try:  # even under a permissive umask
        async with serve(StoreConfig(data.parent / "open")) as other:
            path = other.app[CONTEXT].config.data_dir
            assert stat.S_IMODE(path.stat().st_mode) == 0o700
            assert stat.S_IMODE((path / "store.sqlite3").stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_a_token_command_on_a_fresh_data_dir_creates_it_private(tmp_path):
    from neptune_sync.cli import main

    data = tmp_path / "fresh"
    old = os.umask(0)
    try:
        assert main(["server", "token", "create", "--data", str(data), "--project", "ws/a"]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "store.sqlite3").stat().st_mode) == 0o600
