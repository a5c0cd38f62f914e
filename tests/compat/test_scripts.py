"""Six neptune 1.x scripts run unmodified through ``import neptune``: offline, and in async mode
against a real store and the daemon on 127.0.0.1. What the store holds is compared with the local
log, and both with what each script logged (an independent model of each script, written here)."""

from __future__ import annotations

import asyncio
import math
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from compat_helpers import PROJECT, local_views, run_script, script_env, store_views

from neptune_sync.wire.daemon import LOCK_FILE, daemon_running

pytest.importorskip("neptune_sync_store")
from neptune_sync_store.testing import running_store  # noqa: E402

SCRIPTS = ["hello_neptune", "monitor_runs", "hpo_loop", "cross_validation", "data_versioning"]


def run_all(workdir: Path, env: dict[str, str]) -> None:
    for name in SCRIPTS:
        run_script(name, workdir, env)
    run_script("resume_training", workdir, env, expect_status=3)  # "crashes" after epoch 2
    run_script("resume_training", workdir, env)  # restarted: resumes the run by with_id


def values(series: list) -> list:
    return [point[1] for point in series]


def steps(series: list) -> list:
    return [point[0] for point in series]


def by_script(views: dict[str, dict]) -> dict[str, list[dict]]:
    """The runs of each script, told apart by what each logs; the project container separately."""
    groups: dict[str, list[dict]] = {
        "project": [],
        "hello": [],
        "monitor": [],
        "hpo": [],
        "cv": [],
        "resume": [],
        "data": [],
    }
    for view in views.values():
        tags = set(view.get("sys/tags", ("", []))[1])
        name = view.get("sys/name", ("", ""))[1]
        if "hpo/best/score" in view:
            groups["project"].append(view)
        elif "quickstart" in tags:
            groups["hello"].append(view)
        elif name == "monitoring":
            groups["monitor"].append(view)
        elif "hpo" in tags:
            groups["hpo"].append(view)
        elif "cv" in tags:
            groups["cv"].append(view)
        elif name == "resumable":
            groups["resume"].append(view)
        elif "data" in tags:
            groups["data"].append(view)
        else:
            raise AssertionError(f"a run no script made: {sorted(view)}")
    return groups


def check_what_the_scripts_logged(views: dict[str, dict]) -> None:
    groups = by_script(views)
    assert {k: len(v) for k, v in groups.items()} == {
        "project": 1,
        "hello": 1,
        "monitor": 1,
        "hpo": 6,
        "cv": 1,
        "resume": 1,
        "data": 1,
    }
    for view in views.values():
        if "sys/state" in view:
            assert view["sys/state"] == ("string", "Inactive")
    check_hello(groups["hello"][0])
    check_monitor(groups["monitor"][0])
    check_hpo(groups["hpo"], groups["project"][0])
    check_cv(groups["cv"][0])
    check_resume(groups["resume"][0])
    check_data(groups["data"][0], groups["project"][0])


def check_hello(v: dict) -> None:
    assert v["parameters/learning_rate"] == ("float", 0.001)
    assert v["parameters/optimizer"] == ("string", "Adam")
    assert v["train/loss"][0] == "floatSeries"
    assert steps(v["train/loss"][1]) == list(range(10))
    assert values(v["train/loss"][1]) == pytest.approx([0.9**e for e in range(10)])
    assert values(v["train/accuracy"][1]) == pytest.approx([1 - 0.9**e for e in range(10)])
    assert v["eval/f1_score"] == ("float", 0.66)
    assert v["sys/tags"] == ("stringSet", ["quickstart", "script"])


def check_monitor(v: dict) -> None:
    assert v["parameters/lr"] == ("float", 0.01) and v["parameters/epochs"] == ("int", 5)
    assert v["parameters/model"] == ("string", "resnet18")
    assert v["config/layers"] == ("string", "[64, 32]") and v["config/dropout"] == ("string", "None")
    assert v["config/augment/flip"] == ("bool", True)
    assert v["sys/tags"] == ("stringSet", ["monitoring", "resnet18"])
    assert v["sys/description"] == ("string", "monitor a training run")
    assert values(v["training/batch/loss"][1]) == [float(np.float32(1 / (e + 1))) for e in range(5)]
    assert values(v["training/batch/acc"][1]) == pytest.approx([e / 10 for e in range(5)])
    kind, samples = v["training/samples"]
    assert kind == "fileSeries" and [p[1]["extension"] for p in samples] == ["png"] * 5
    assert v["visuals/curve"][0] == "file" and v["visuals/curve"][1]["extension"] == "png"
    assert v["visuals/curve_html"][1]["extension"] == "html"
    assert v["eval/accuracy"] == ("float", 0.875)


def check_hpo(runs: list[dict], project: dict) -> None:
    results = {}
    for v in runs:
        lr, batch = v["parameters/lr"][1], v["parameters/batch_size"][1]
        expected = [1 - math.exp(-lr * 100 * (s + 1) / batch) for s in range(20)]
        assert steps(v["metrics/score"][1]) == list(range(20))
        assert values(v["metrics/score"][1]) == pytest.approx(expected)
        assert v["metrics/final_score"][1] == pytest.approx(expected[-1])
        assert v["sys/tags"] == ("stringSet", sorted(["hpo", f"lr={lr}"]))
        results[(lr, batch)] = (expected[-1], v["sys/id"][1])
    assert sorted(results) == sorted((lr, b) for lr in (0.1, 0.01, 0.001) for b in (32, 64))
    (lr, batch), (score, run_id) = max(results.items(), key=lambda item: item[1][0])
    assert project["hpo/best/score"][1] == pytest.approx(score)
    assert project["hpo/best/run"] == ("string", run_id)
    assert (project["hpo/best/lr"][1], project["hpo/best/batch_size"][1]) == (lr, batch)
    assert project["sys/id"] == ("string", "EXAMPL") and project["sys/name"] == ("string", "examples")


def check_cv(v: dict) -> None:
    for fold in range(5):
        loss = v[f"fold_{fold}/train/loss"][1]
        assert steps(loss) == [0, 1, 2] and values(loss) == pytest.approx(
            [1 / (fold + e + 1) for e in range(3)]
        )
        assert v[f"fold_{fold}/val/acc"] == ("float", pytest.approx(0.8 + fold / 100))
        assert v[f"fold_{fold}/metadata/train_size"] == ("int", 800)
    scores = [0.8 + f / 100 for f in range(5)]
    assert values(v["cv/scores"][1]) == pytest.approx(scores)
    assert v["cv/mean_acc"][1] == pytest.approx(sum(scores) / 5)
    assert v["cv/id"] == v["sys/id"]


def check_resume(v: dict) -> None:
    assert steps(v["training/loss"][1]) == list(range(6))
    assert values(v["training/loss"][1]) == [10.0 - e for e in range(6)]
    assert v["training/last_epoch"] == ("int", 5) and v["training/finished"] == ("bool", True)
    assert v["parameters/epochs"] == ("int", 6)
    assert v["checkpoints/latest"][1]["extension"] == "json"


def check_data(v: dict, project: dict) -> None:
    train, everything = v["datasets/train"], v["datasets/all"]
    assert [f["relpath"] for f in train[1]["files"]] == ["train.csv"]
    assert [f["relpath"] for f in everything[1]["files"]] == ["train.csv", "val.csv"]
    assert v["datasets/from_project"] == everything  # the artifact value copied via the project
    assert v["datasets/train_hash"] == ("string", train[1]["sha256"])
    assert project["datasets/v1"] == project["datasets/latest"] == everything


def test_scripts_run_offline_and_log_what_they_say(tmp_path):
    run_all(tmp_path, script_env(NEPTUNE_MODE="offline"))
    check_what_the_scripts_logged(local_views())


async def stop_daemon(data_dir: Path) -> None:
    if not daemon_running(data_dir):
        return
    os.kill(int((data_dir / LOCK_FILE).read_text().split()[0]), signal.SIGTERM)
    deadline = time.monotonic() + 15
    while daemon_running(data_dir):
        assert time.monotonic() < deadline, "the daemon did not stop"
        await asyncio.sleep(0.05)


@pytest.mark.asyncio
async def test_scripts_against_a_store_and_the_daemon_sync_exactly_what_was_logged(
    tmp_path, monkeypatch, isolated_data_dir
):
    """``api_token=neptune.ANONYMOUS_API_TOKEN`` falls back to NEPTUNE_API_TOKEN: the daemon the first
    script starts reaches the store with it."""
    monkeypatch.delenv("NEPTUNE_SYNC_NO_DAEMON", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    try:
        async with running_store(tmp_path / "store") as store:
            env = script_env(NEPTUNE_API_TOKEN=await store.token(PROJECT))
            await asyncio.wait_for(asyncio.to_thread(run_all, work, env), 300)
            assert daemon_running(isolated_data_dir), "no script started the daemon"
            expected = local_views()
            deadline = time.monotonic() + 60
            while (got := await store_views(store.storage, sorted(expected))) != expected:
                if time.monotonic() > deadline:
                    diff = {
                        (key, path): (got.get(key, {}).get(path), view.get(path))
                        for key, view in expected.items()
                        for path in set(view) | set(got.get(key, {}))
                        if got.get(key, {}).get(path) != view.get(path)
                    }
                    raise AssertionError(f"the store never caught up with the local logs: {diff}")
                await asyncio.sleep(0.2)
            check_what_the_scripts_logged(got)
    finally:
        await stop_daemon(isolated_data_dir)
