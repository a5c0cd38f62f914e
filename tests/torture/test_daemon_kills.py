"""The sync daemon SIGKILLed again and again while runs are logged, many of the kills in the middle
of a blob upload: in the end the store equals the journals, nothing lost, duplicated or invented."""

from __future__ import annotations

import random
import time

import pytest
from torture_check import caught_up, check_store, models_of
from torture_config import LONG, count, seed
from torture_procs import DaemonProcess, StoreProcess, StoreReader, kill, start_child, wait_until
from torture_proxy import FaultProxy

PROJECT = "torture/daemon"
CATCH_UP_LIMIT = 120.0


@pytest.fixture
def stack(tmp_path):
    """The store, the fault proxy (uploads throttled to ~6 MB/s) and a daemon on ``tmp_path/data``."""
    s = seed("daemon kills")
    store = StoreProcess(tmp_path / "store", PROJECT)
    proxy = FaultProxy(store.start(), s).start()
    proxy.put_chunk_delay = 0.01
    daemon = DaemonProcess(tmp_path / "data", proxy.url, store.token)
    (tmp_path / "work").mkdir()
    yield s, store, proxy, daemon
    daemon.close()
    proxy.close()
    store.close()


def child_spec(tmp_path, n: int, rng: random.Random, **extra) -> dict:
    return {
        "journal": str(tmp_path / f"journal-{n}"), "project": PROJECT, "custom_run_id": f"run-{n}",
        "tag": f"p{n}", "seed": rng.randrange(1 << 30), "calls": 20_000, "pace": 0.02 if LONG else 0.04,
        "segment_size": 64 << 10, "upload_sizes": [1, 200_000, 4_000_000], "upload_every": 3000,
        "workdir": str(tmp_path / "work"), **extra,
    }


def test_daemon_sigkills_lose_nothing(tmp_path, stack):
    s, store, proxy, daemon = stack
    rng = random.Random(s)
    target = count("daemon_kills", 6, 100)
    reader = StoreReader(store.url, store.token, PROJECT)
    children, journal_paths, mid_blob = [], [], 0
    try:
        while daemon.kills < target:
            if not children or children[-1].poll() is not None:  # a new run when the last one ended
                children.append(start_child(child_spec(tmp_path, len(children), rng), tmp_path / "data"))
                journal_paths.append(tmp_path / f"journal-{len(children) - 1}")
            daemon.start()
            if rng.random() < 0.7:  # wait for an upload to be under way, then kill in its middle
                deadline = time.monotonic() + 3
                while not proxy.puts_in_flight and time.monotonic() < deadline:
                    time.sleep(0.005)
                time.sleep(rng.uniform(0, 0.1))
            else:
                time.sleep(rng.uniform(0.1, 1.5))
            mid_blob += proxy.puts_in_flight > 0
            daemon.kill()
        for child in children:
            kill(child)
        daemon.start()
        models = models_of(journal_paths)
        took = wait_until(lambda: caught_up(models, reader), CATCH_UP_LIMIT, 0.2, fail=False)
        check_store(journal_paths, reader, s, data_dir=tmp_path / "data", label="daemon kills",
                    kills=daemon.kills, mid_blob=mid_blob, runs=len(children), catch_up_s=took and round(took, 2))
        assert took is not None, f"seed {s}: the store took over {CATCH_UP_LIMIT} s to catch up"
    finally:
        for child in children:
            kill(child)


def test_daemon_killed_after_the_last_byte_of_an_upload(tmp_path, stack):
    """Every byte of a blob reached the store, then the daemon died before the upload finished:
    the next daemon must finish it (the store holds a full-size partial upload)."""
    s, store, proxy, daemon = stack
    spec = child_spec(tmp_path, 0, random.Random(s), calls=200, pace=0.0, upload_sizes=[3_000_000], upload_every=100)
    child = start_child(spec, tmp_path / "data")
    assert child.wait(60) == 0, child.stderr.read()
    kill(child)
    proxy.put_chunk_delay = 0.0
    proxy.hold_put_end = True
    daemon.start()
    wait_until(lambda: proxy.held > 0, 60, 0.01)
    daemon.kill()
    proxy.abort_held()
    proxy.hold_put_end = False
    daemon.start()
    reader = StoreReader(store.url, store.token, PROJECT)
    models = models_of([tmp_path / "journal-0"])
    wait_until(lambda: caught_up(models, reader), 30, 0.2, fail=False)
    check_store([tmp_path / "journal-0"], reader, s, data_dir=tmp_path / "data")


def test_an_empty_file_syncs(tmp_path, stack):
    """A 0-byte upload reaches the store like any other (no kill needed)."""
    s, store, proxy, daemon = stack
    spec = child_spec(tmp_path, 0, random.Random(s), calls=300, pace=0.0, upload_sizes=[0, 10], upload_every=100)
    child = start_child(spec, tmp_path / "data")
    assert child.wait(60) == 0, child.stderr.read()
    kill(child)
    daemon.start()
    reader = StoreReader(store.url, store.token, PROJECT)
    models = models_of([tmp_path / "journal-0"])
    wait_until(lambda: caught_up(models, reader), 30, 0.2, fail=False)
    check_store([tmp_path / "journal-0"], reader, s, data_dir=tmp_path / "data")
