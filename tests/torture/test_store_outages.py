"""The daemon ships a live run while the store is paused (SIGSTOP), SIGKILLed and restarted, and
answers through a fault proxy (500, 503 after applying, 429 + Retry-After, resets before and after
applying, truncated and slow answers) — on SQLite and PostgreSQL. After each outage the store
catches up; at the end it equals the model of the journal."""

from __future__ import annotations

import random
import statistics
import time

import pytest
from torture_check import caught_up, check_store, models_of
from torture_config import LONG, count, seed
from torture_journal import last_returned
from torture_procs import (
    DaemonProcess,
    StoreProcess,
    StoreReader,
    kill,
    pg_dsn_or_skip,
    start_child,
    wait_until,
)
from torture_proxy import FAULTS, FaultProxy

PROJECT = "torture/outage"
CATCH_UP_LIMIT = 120.0  # s after an outage ends
FAULT_WINDOW_MAX = 15.0


def last_returned_step(journal, path: str) -> float:
    call = last_returned(journal, "p", path)
    return call.args[1] if call else -1


def store_step(reader: StoreReader, run: str, path: str) -> float:
    values = reader.values(run) or []
    return max((v["last_step"] for v in values if v["path"] == path and v["last_step"] is not None), default=-1)


def outage(kind: str, store: StoreProcess, proxy: FaultProxy, rng: random.Random, every_fault: bool) -> None:
    """One outage; a fault window lasts until its faults are spent (or ``FAULT_WINDOW_MAX`` s)."""
    length = rng.uniform(0.3, 3.0) if LONG else rng.uniform(0.2, 1.0)
    if kind == "pause":
        store.pause()
        time.sleep(length)
        store.resume()
    elif kind == "kill":
        store.proc.kill()
        time.sleep(length)
        proxy.upstream = store.kill_and_restart()
    else:
        some = rng.sample(FAULTS, rng.randint(1, len(FAULTS)))
        budget = rng.randint(10, 40) if LONG else rng.randint(len(FAULTS), 12)
        if every_fault:
            proxy.inject(FAULTS, rate=rng.uniform(0.5, 0.9), budget=len(FAULTS) * (1 + LONG), in_turn=True)
        else:
            proxy.inject(some, rate=rng.uniform(0.5, 0.9), budget=budget)
        deadline = time.monotonic() + FAULT_WINDOW_MAX
        while proxy.budget > 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        proxy.inject((), 0.0, 0)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_store_outages_end_with_the_store_equal_to_the_journal(tmp_path, backend):
    s = seed(f"store outages ({backend})")
    rng = random.Random(s)
    dsn = pg_dsn_or_skip() if backend == "postgres" else None
    outages = count("outages", 3, 30)
    data, journal = tmp_path / "data", tmp_path / "journal"
    (tmp_path / "work").mkdir()
    store = StoreProcess(tmp_path / "store", PROJECT, dsn)
    proxy = FaultProxy(store.start(), s).start()
    daemon = DaemonProcess(data, proxy.url, store.token)
    reader = StoreReader(store.url, store.token, PROJECT)
    spec = {
        "journal": str(journal), "project": PROJECT, "custom_run_id": "live", "tag": "p0", "seed": s,
        "calls": -1, "pace": 0.03, "segment_size": 64 << 10, "upload_sizes": [1, 5000, 300_000],
        "upload_every": 400, "workdir": str(tmp_path / "work"),
    }
    child = start_child(spec, data)
    catch_up, kinds, slow = [], [], 0
    try:
        daemon.start()
        wait_until(lambda: last_returned_step(journal, "series/p0") >= 0, 60)
        for i in range(outages):
            kind = ("pause", "kill", "faults")[i % 3] if i < 3 else rng.choice(["pause", "kill", "faults"])
            kinds.append(kind)
            outage(kind, store, proxy, rng, every_fault=i == 2)
            reader.url = store.url
            target = last_returned_step(journal, "series/p0")
            took = wait_until(
                lambda t=target: store_step(reader, "live", "series/p0") >= t, CATCH_UP_LIMIT, 0.05, fail=False
            )
            catch_up.append(CATCH_UP_LIMIT if took is None else took)
            slow += took is None
        kill(child)  # the child is killed mid-call as well
        models = models_of([journal])
        final = wait_until(lambda: caught_up(models, reader), CATCH_UP_LIMIT, 0.1, fail=False)
        check_store(
            [journal], reader, s, data_dir=data, label=f"store outages ({backend})", outages=len(kinds),
            pauses=kinds.count("pause"), store_kills=kinds.count("kill"), fault_windows=kinds.count("faults"),
            faults=dict(sorted(proxy.counts.items())), catch_up_median_s=round(statistics.median(catch_up), 2),
            catch_up_max_s=round(max(catch_up), 2), not_caught_up=slow, final_catch_up_s=final and round(final, 2),
        )
        assert not slow and final is not None, f"seed {s}: the store took over {CATCH_UP_LIMIT} s to catch up"
    finally:
        kill(child)
        daemon.close()
        proxy.close()
        store.close()

