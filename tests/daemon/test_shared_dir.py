"""The documented shared-directory setup: training jobs write a data directory that a daemon of
another user (same group) syncs. Every file and directory the client writes follows the umask and
the directory's group; a file the daemon may not read is a named error, never a traceback."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import anyio
import pytest

PROJECT = "team/proj"
NOBODY = 65534  # uid and gid of nobody / nogroup on Debian

WRITE_RUN = """
import os, sys
os.umask(int(sys.argv[1], 8))
import neptune_sync as neptune
from neptune_sync.types import File
with neptune.init_run(project="team/proj", mode="offline", custom_run_id=sys.argv[2]) as run:
    run["model"].upload(File.from_content(sys.argv[2].encode() * 100))
    run["series"].append(File.from_content(b"image"))
    run["loss"].append(0.5)
    run["note"] = "x"
"""


def write_run(data_dir: Path, umask: int, name: str) -> Path:
    env = {**os.environ, "NEPTUNE_SYNC_DIR": str(data_dir), "NEPTUNE_SYNC_NO_DAEMON": "1"}
    subprocess.run([sys.executable, "-c", WRITE_RUN, oct(umask), name], env=env, check=True, timeout=60)
    (path,) = [p for p in (data_dir / "runs").iterdir() if name in p.name]
    return path


def written_by_client(data_dir: Path) -> list[Path]:
    """Everything under the data directory except the daemon's own ``sync/`` state."""
    return [p for p in data_dir.rglob("*") if "sync" not in p.relative_to(data_dir).parts]


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o007, 0o077])
def test_every_file_and_directory_follows_the_umask(tmp_path, umask):
    data_dir = tmp_path / "data"
    path = write_run(data_dir, umask, f"umask{umask:o}")
    kinds = {"blobs": 0, "segments": 0, "run.json": 0}
    for p in written_by_client(data_dir):
        mode = stat.S_IMODE(p.lstat().st_mode)
        want = (0o777 if p.is_dir() else 0o666) & ~umask
        assert mode == want, f"{p}: mode {mode:o}, umask {umask:o} wants {want:o}"
        if p.is_file() and p.is_relative_to(path):
            top = p.relative_to(path).parts[0]
            kinds[top] = kinds.get(top, 0) + 1
    assert all(kinds[k] for k in ("blobs", "segments", "run.json")), kinds  # all were checked


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown a directory to another group")
def test_files_in_a_setgid_directory_take_its_group(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    os.chown(data_dir, -1, NOBODY)
    data_dir.chmod(0o2770)
    write_run(data_dir, 0o007, "setgid")
    for p in written_by_client(data_dir):
        assert p.lstat().st_gid == NOBODY, p
        if p.is_dir():
            assert p.lstat().st_mode & stat.S_ISGID, p


@pytest.fixture
def shared_dir():
    """A directory every user can traverse (pytest's tmp_path is private to root)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run the daemon as another user (nobody)")
    base = Path(tempfile.mkdtemp(prefix="nss-shared-", dir="/tmp"))
    base.chmod(0o755)
    yield base
    shutil.rmtree(base)


# The interpreter lives where nobody may not look (under /root), so the child starts as root,
# imports what a sync needs, then becomes nobody before it reads anything of the data directory.
SYNC_AS_NOBODY = """
import os, sys
import neptune_sync.cli, neptune_syncd.__main__, neptune_syncd.oneshot, neptune_syncd.sinks.http
import neptune_syncd.replicator, neptune_syncd.report, neptune_syncd.sync_state, encodings.idna
import anyio._backends._asyncio, neptune_syncd.config, neptune_sync.wire.token, concurrent.futures.thread
import concurrent.futures.process, aiohttp.payload, json
os.setgroups([])
os.setgid(65534)
os.setuid(65534)
sys.exit(neptune_sync.cli.main(["sync", "-q"]))
"""


def sync_as_nobody(data_dir: Path, token: str, home: Path) -> subprocess.CompletedProcess:
    """``neptune-sync sync`` in a child process running as nobody (group nogroup)."""
    env = {
        **os.environ,
        "NEPTUNE_SYNC_DIR": str(data_dir),
        "NEPTUNE_API_TOKEN": token,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home),
    }
    return subprocess.run(
        [sys.executable, "-c", SYNC_AS_NOBODY], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.asyncio
async def test_a_daemon_of_the_group_syncs_the_jobs_runs_and_names_an_unreadable_blob(shared_dir, runs):
    from neptune_sync_store.testing import running_store

    data_dir, home = shared_dir / "data", shared_dir / "home"
    home.mkdir(mode=0o777)
    home.chmod(0o777)
    data_dir.mkdir()
    os.chown(data_dir, -1, NOBODY)  # the daemon's group
    data_dir.chmod(0o2770)
    path = write_run(data_dir, 0o007, "shared")
    async with running_store(shared_dir / "store") as store:
        token = await store.token(PROJECT)
        done = await anyio.to_thread.run_sync(sync_as_nobody, data_dir, token, home)
        assert done.returncode == 0, done.stdout + done.stderr
        assert await runs.store_view(store.storage, path.name) == runs.normalized(runs.expected(path))

        other = write_run(data_dir, 0o007, "unreadable")
        unique = hashlib.sha256(b"unreadable" * 100).hexdigest()  # the model: no other run holds it
        blob = other / "blobs" / unique[:2] / unique
        blob.chmod(0o600)  # as mkstemp leaves a file: readable by its owner only
        done = await anyio.to_thread.run_sync(sync_as_nobody, data_dir, token, home)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert f"blob {blob} is not readable" in done.stdout and "umask" in done.stdout, done.stdout


DAEMON_AS_NOBODY = SYNC_AS_NOBODY.replace(
    'sys.exit(neptune_sync.cli.main(["sync", "-q"]))', "sys.exit(neptune_syncd.__main__.main([]))"
).replace("import os, sys\n", "import os, sys\nimport neptune_syncd.service, neptune_syncd.discovery\n")


@pytest.mark.asyncio
async def test_the_daemon_names_an_unreadable_blob_and_recovers_once_it_is_readable(shared_dir, runs):
    from neptune_sync.wire.sync_state import read_state
    from neptune_sync_store.testing import running_store

    data_dir, home = shared_dir / "data", shared_dir / "home"
    home.mkdir(mode=0o777)
    home.chmod(0o777)
    data_dir.mkdir()
    os.chown(data_dir, -1, NOBODY)
    data_dir.chmod(0o2770)
    path = write_run(data_dir, 0o007, "daemon")
    blob = next(p for p in (path / "blobs").rglob("*") if p.is_file())
    blob.chmod(0o600)
    async with running_store(shared_dir / "store") as store:
        env = {
            **os.environ,
            "NEPTUNE_SYNC_DIR": str(data_dir),
            "NEPTUNE_API_TOKEN": await store.token(PROJECT),
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home),
        }
        daemon = subprocess.Popen([sys.executable, "-c", DAEMON_AS_NOBODY], env=env, stderr=subprocess.PIPE)
        try:
            with anyio.fail_after(30):
                while "is not readable" not in getattr(read_state(path), "last_error", ""):
                    assert daemon.poll() is None, daemon.stderr.read().decode()
                    await anyio.sleep(0.1)
            assert f"blob {blob} is not readable" in read_state(path).last_error
            blob.chmod(0o660)  # fixed by hand: the next pass syncs it
            want = runs.normalized(runs.expected(path))
            with anyio.fail_after(30):
                while await runs.store_view(store.storage, path.name) != want:
                    await anyio.sleep(0.1)
        finally:
            daemon.terminate()
            _, err = daemon.communicate(timeout=30)
    assert "Traceback" not in err.decode(), err.decode()
