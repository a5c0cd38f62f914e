"""The Optuna callback end to end: async run, the real daemon, a real store on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import warnings

import anyio
import pytest

optuna = pytest.importorskip("optuna")

from integration_helpers import PROJECT, load_daemon_helpers  # noqa: E402

import neptune_sync  # noqa: E402
from neptune_sync.integrations.optuna import NeptuneCallback  # noqa: E402
from neptune_sync.wire.daemon import LOCK_FILE, daemon_running  # noqa: E402
from neptune_sync_store.testing import running_store  # noqa: E402


def objective(trial):
    x = trial.suggest_float("x", -5, 5)
    return (x - 1) ** 2


@pytest.mark.asyncio
async def test_study_logged_by_the_callback_reaches_the_store_exactly(
    isolated_data_dir, tmp_path, monkeypatch
):
    runs = load_daemon_helpers().RunFactory(isolated_data_dir)
    async with running_store(tmp_path / "store") as store:
        monkeypatch.setenv("NEPTUNE_API_TOKEN", await store.token(PROJECT))
        monkeypatch.setenv("NEPTUNE_PROJECT", PROJECT)
        monkeypatch.delenv("NEPTUNE_SYNC_NO_DAEMON")  # this test starts (and stops) one

        def study_with_callback():
            run = neptune_sync.init_run(mode="async")
            study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                study.optimize(objective, n_trials=5, callbacks=[NeptuneCallback(run)])
            run.wait(timeout=60)
            run.stop()
            return run.run_path, study

        try:
            with anyio.fail_after(120):
                run_path, study = await anyio.to_thread.run_sync(study_with_callback)
            view = await runs.store_view(store.storage, run_path.name)
            assert view == runs.normalized(runs.expected(run_path))  # everything logged, exactly once
            # and the fields, against the study itself
            assert [(s, v) for s, v, _ in view["trials/values"][1]] == [
                (float(t._trial_id), t.value) for t in study.trials
            ]
            assert view["best/value"] == ("float", study.best_value)
            assert view["best/params/x"] == ("float", study.best_params["x"])
            assert view["study/direction"] == ("string", "MINIMIZE")
            assert view["study/storage_type"] == ("string", "InMemoryStorage")
            assert view["study/study"][0] == "file"
            assert view["visualizations/plot_optimization_history"][0] == "file"
        finally:
            if daemon_running(isolated_data_dir):
                os.kill(int((isolated_data_dir / LOCK_FILE).read_text()), signal.SIGTERM)
            with anyio.fail_after(15):
                while daemon_running(isolated_data_dir):
                    await anyio.sleep(0.05)
