"""SIGKILLed logging processes, then ``neptune-sync sync``: the store holds every call that returned,
once, and nothing else — one writer per run, and two writers per run resumed again and again."""

from __future__ import annotations

import random

import pytest
from torture_check import check_store
from torture_config import count, seed
from torture_kill import SEGMENT_SIZES, Fate, Tally, random_fate, run_children
from torture_procs import StoreProcess, StoreReader, run_cli

PROJECT = "torture/client"
STEP_BASE = 10**7  # each session's steps of series/shared start above every earlier one


@pytest.fixture
def store(tmp_path):
    store = StoreProcess(tmp_path / "store", PROJECT)
    store.start()
    yield store
    store.close()


def spec(tmp_path, run: str, proc: int, rank: int, session: int, rng: random.Random) -> dict:
    (tmp_path / "work").mkdir(exist_ok=True)
    return {
        "journal": str(tmp_path / f"journal-{proc}"),
        "project": PROJECT,
        "custom_run_id": run,
        "tag": f"p{proc}",
        "rank": rank,
        "step_base": session * STEP_BASE,
        "seed": rng.randrange(1 << 30),
        "segment_size": rng.choice(SEGMENT_SIZES),
        "upload_sizes": [1, 300, 70_000],
        "upload_every": rng.choice([0, 97, 500]),
        "workdir": str(tmp_path / "work"),
    }


def sync(tmp_path, store, seed_: int) -> None:
    code, out = run_cli(["sync", "-q", "--timeout", "120"], tmp_path / "data", store.token)
    assert code == 0, f"seed {seed_}: neptune-sync sync exited {code}:\n{out[-3000:]}"


def test_killed_single_writers_lose_nothing_in_the_store(tmp_path, store):
    """Every child logs its own run and is killed (or stopped); no resumes, no second writer."""
    s = seed("client kills, one writer per run")
    rng, tally, journals = random.Random(s), Tally(), []
    target = count("client_kills_single", 6, 100)
    while tally.kills < target:
        batch = [spec(tmp_path, f"single-{len(journals) + i}", len(journals) + i, 0, 0, rng) for i in range(2)]
        fates = [random_fate(rng) for _ in batch]
        run_children(batch, fates, tmp_path / "data", tally)
        journals += [tmp_path / f"journal-{len(journals) + i}" for i in range(len(batch))]
    sync(tmp_path, store, s)
    check_store(journals, StoreReader(store.url, store.token, PROJECT), s, data_dir=tmp_path / "data",
                label="client kills, one writer per run", kills=tally.kills, in_stop=tally.in_stop,
                early=tally.early, at_rotation=tally.at_rotation)


def test_killed_and_resumed_runs_with_two_writers_lose_nothing_in_the_store(tmp_path, store):
    """Runs written by sessions of one or two concurrent writers, each resuming the run the killed
    ones left (custom_run_id); ``sync`` now and then between sessions and once at the end."""
    s = seed("client kills, two writers and resumes")
    rng, tally, journals = random.Random(s), Tally(), []
    target = count("client_kills", 12, 300)
    run = 0
    while tally.kills < target:
        for session in range(rng.randint(2, 4)):
            writers = 2 if session % 2 == 0 else rng.choice([1, 2])
            batch = [
                spec(tmp_path, f"resumed-{run}", len(journals) + rank, rank, session, rng) for rank in range(writers)
            ]
            fates = [random_fate(rng) for _ in batch]
            if rng.random() < 0.2:  # now and then both writers die inside stop()
                fates = [Fate("kill-in-stop", rng.uniform(0, 0.004), rng.randint(50, 2000)) for _ in batch]
            run_children(batch, fates, tmp_path / "data", tally)
            journals += [tmp_path / f"journal-{len(journals) + i}" for i in range(writers)]
            if rng.random() < 0.25:
                sync(tmp_path, store, s)
        run += 1
    sync(tmp_path, store, s)
    check_store(journals, StoreReader(store.url, store.token, PROJECT), s, data_dir=tmp_path / "data",
                label="client kills, two writers and resumes", runs=run, kills=tally.kills,
                in_stop=tally.in_stop, early=tally.early, at_rotation=tally.at_rotation)
