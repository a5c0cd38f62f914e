"""Real processes of the torture suite: the store server, the sync daemon, the logging child and the
CLI, each a child process that can be paused, SIGKILLed and restarted; and a reader of the store's
HTTP read API (plain urllib + json: the store is what is checked, through what it serves)."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).parent
CLI = [sys.executable, "-m", "neptune_sync.cli"]
SERIES = ("floatSeries", "stringSeries", "fileSeries")


def child_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "NEPTUNE_SYNC_DIR": str(data_dir), "NEPTUNE_SYNC_NO_DAEMON": "1", **extra}
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
    return env


def start_child(spec: dict, data_dir: Path) -> subprocess.Popen:
    """The logging child (torture_child.py) with ``spec``."""
    return subprocess.Popen(
        [sys.executable, str(HERE / "torture_child.py"), json.dumps(spec)],
        env=child_env(data_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL (a no-op if it already ended) and reap."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    for stream in (proc.stdout, proc.stderr):
        if stream:
            stream.close()


class StoreProcess:
    """``neptune-sync server`` on 127.0.0.1 over SQLite (``data``) or PostgreSQL (``dsn``, own schema)."""

    def __init__(self, data: Path, project: str, dsn: str | None = None) -> None:
        self.data, self.project, self.dsn = data, project, dsn
        self.schema = f"nss_torture_{uuid.uuid4().hex[:12]}" if dsn else None
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.token = ""
        self.restarts = 0

    def start(self) -> str:
        token_file = self.data.parent / f"{self.data.name}.token"
        cmd = [*CLI, "server", "--port", "0", "--data", str(self.data)]
        if self.dsn:
            cmd += ["--db", self.dsn, "--pg-schema", self.schema]
        if not self.token:
            cmd += ["--token-project", self.project, "--token-file", str(token_file)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 60)
        if not ready:
            kill(self.proc)
            pytest.fail("the store printed no URL within 60 s")
        self.url = self.proc.stdout.readline().strip()
        self.token = self.token or token_file.read_text().strip()
        return self.url

    def pause(self) -> None:
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    def kill_and_restart(self) -> str:
        kill(self.proc)
        self.restarts += 1
        return self.start()

    def close(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)
            kill(self.proc)
        if self.dsn:
            drop_schema(self.dsn, self.schema)


def drop_schema(dsn: str, schema: str) -> None:
    import asyncio

    import asyncpg

    async def drop() -> None:
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()

    asyncio.run(drop())


def pg_dsn_or_skip() -> str:
    """A reachable PostgreSQL DSN (docs/store.md); skip, saying why, when there is none (fail under CI)."""
    import asyncio

    from neptune_sync_store.testing import reachable_postgres

    dsn, errors = asyncio.run(reachable_postgres())
    if dsn is None:
        message = f"no PostgreSQL reachable: {'; '.join(errors)}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return dsn


class DaemonProcess:
    """``neptune-syncd`` for one data dir, talking to ``store_url`` (the fault proxy) with ``token``."""

    SETTINGS = (
        "poll_interval = 0.02\nrescan_interval = 0.5\nbackoff_base = 0.02\nbackoff_cap = 0.5\n"
        "request_timeout = 3.0\nshutdown_timeout = 5.0\n[batch]\nmax_ops = 10000\n"
    )

    def __init__(self, data_dir: Path, store_url: str, token: str) -> None:
        self.data_dir = data_dir
        self.config = data_dir.parent / "daemon.toml"
        self.config.write_text(f'store_url = "{store_url}"\n' + self.SETTINGS)
        self.env = child_env(data_dir, NEPTUNE_API_TOKEN=token)
        self.log = open(data_dir.parent / "daemon.stderr", "ab")  # noqa: SIM115 (closed in close())
        self.proc: subprocess.Popen | None = None
        self.kills = 0

    def start(self) -> None:
        cmd = [sys.executable, "-m", "neptune_syncd", "--data-dir", str(self.data_dir), "--config", str(self.config)]
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=subprocess.DEVNULL, stderr=self.log)

    def kill(self) -> None:
        kill(self.proc)
        self.kills += 1

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                kill(self.proc)
        self.log.close()


def run_cli(args: list[str], data_dir: Path, token: str = "", timeout: float = 300) -> tuple[int, str]:
    """``neptune-sync ARGS`` on ``data_dir``; (exit code, stdout + stderr)."""
    env = child_env(data_dir, **({"NEPTUNE_API_TOKEN": token} if token else {}))
    done = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout + done.stderr


class StoreReader:
    """What the store serves for a run, through its read API: ``{path: (type, value)}``."""

    def __init__(self, url: str, token: str, project: str) -> None:
        self.url, self.token, self.project = url.rstrip("/"), token, project

    def _get(self, route: str, params: list[tuple[str, object]]):
        query = urllib.parse.urlencode([("project", self.project), *params])
        request = urllib.request.Request(
            f"{self.url}{route}?{query}", headers={"Authorization": f"Bearer {self.token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise

    def values(self, run: str) -> list[dict] | None:
        """Every field's value (a series: its last value and ``last_step``); None: no such run."""
        return self._get("/v1/run/values", [("run", run)])

    def view(self, run: str) -> dict[str, tuple[str, object]] | None:
        values = self.values(run)
        if values is None:
            return None
        out = {}
        for v in values:
            value = self.series(run, v["path"]) if v["type"] in SERIES else v["value"]
            out[v["path"]] = (v["type"], value)
        return out

    def series(self, run: str, path: str) -> list[list]:
        points, after = [], None
        while True:
            params = [("run", run), ("path", path), ("limit", 100_000)]
            page = self._get("/v1/run/series", params + ([("after", after)] if after is not None else []))
            points += page["points"]
            after = page["next_after"]
            if after is None:
                return points

    def blob(self, sha256: str) -> bytes:
        request = urllib.request.Request(
            f"{self.url}/v1/blobs/{sha256}", headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read()


def diagnosis(data_dir: Path) -> str:
    """``neptune-sync status`` and the end of the daemon's log: for the message of a failure."""
    _, status = run_cli(["status"], data_dir, timeout=60)
    log = data_dir.parent / "daemon.stderr"
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    return f"neptune-sync status:\n{status}\ndaemon log (end):\n{tail}"


def wait_until(
    condition, timeout: float, interval: float = 0.1, data_dir: Path | None = None, fail: bool = True
) -> float | None:
    """Poll ``condition()`` until true; returns the seconds it took, or on timeout raises
    AssertionError (with ``diagnosis(data_dir)`` when given) or, with ``fail=False``, returns None."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            if not fail:
                return None
            extra = f"\n{diagnosis(data_dir)}" if data_dir else ""
            raise AssertionError(f"not reached within {timeout} s{extra}")
        time.sleep(interval)
    return time.monotonic() - start
