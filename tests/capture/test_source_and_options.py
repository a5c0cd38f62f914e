"""Source files, dependencies, the monitoring namespace, the heartbeat and every switch."""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import importlib.metadata
import os
import platform
import sys
import threading
import time
import weakref

import pytest
from capture_helpers import ALL_OFF, Logged, run_script

import neptune_sync as neptune
from neptune_sync.exceptions import ValueRuleError


def test_the_entry_script_is_uploaded_by_default(tmp_path):
    out = run_script(
        """
        import neptune_sync as neptune
        neptune.init_run(mode="offline", git_ref=False).stop()
        """,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    logged = Logged()
    assert logged.value("source_code/entrypoint") == "train.py"
    assert sorted(logged.value("source_code/files")) == ["train.py"]


def test_source_files_globs_and_an_empty_list(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "model.py").write_text("x = 1\n")
    (tmp_path / "pkg" / "data.py").write_text("y = 2\n")
    (tmp_path / "notes.txt").write_text("no\n")
    for source_files, files, entry in (
        ('"pkg/*.py"', ["pkg/data.py", "pkg/model.py"], "../train.py"),
        ("[]", None, "train.py"),
        ('["train.py", "pkg/**/*.py"]', ["pkg/data.py", "pkg/model.py", "train.py"], "train.py"),
    ):
        data = tmp_path / f"data-{len(source_files)}"
        out = run_script(
            f"""
            import neptune_sync as neptune
            neptune.init_run(mode="offline", git_ref=False, source_files={source_files}).stop()
            """,
            cwd=tmp_path,
            env={"NEPTUNE_SYNC_DIR": str(data)},
        )
        assert out.returncode == 0, out.stderr
        logged = Logged(data)
        assert logged.value("source_code/entrypoint") == entry, source_files
        if files is None:
            assert logged.type("source_code/files") is None
        else:
            assert sorted(logged.value("source_code/files")) == files, source_files


def test_no_entry_point_for_python_c(tmp_path):
    code = "import neptune_sync as n; n.init_run(mode='offline', git_ref=False).stop()"
    import subprocess

    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    logged = Logged()
    assert logged.type("source_code/entrypoint") is None and logged.type("source_code/files") is None


def test_dependencies_infer_lists_installed_distributions_as_1x(monkeypatch, tmp_path):
    run = neptune.init_run(mode="offline", **ALL_OFF, dependencies="infer")
    run.stop()
    text = run["source_code/requirements"].download(str(tmp_path / "req.txt")).read_text()
    model = sorted(
        (d.metadata["Name"], d.metadata["Version"])
        for d in importlib.metadata.distributions()
        if d.metadata["Name"]
    )
    assert text == "\n".join(f"{n}=={v}" for n, v in model)
    assert "msgspec==" in text and "psutil==" in text


def test_dependencies_from_a_file_or_a_missing_file(tmp_path, caplog):
    req = tmp_path / "requirements.txt"
    req.write_bytes(b"torch==2.5\nnumpy\n")
    run = neptune.init_run(mode="offline", **ALL_OFF, dependencies=req)
    run.stop()
    assert (
        run["source_code/requirements"].download(str(tmp_path / "got.txt")).read_bytes() == req.read_bytes()
    )
    other = neptune.init_run(mode="offline", **ALL_OFF, dependencies=str(tmp_path / "missing.txt"))
    other.stop()
    assert not other.exists("source_code/requirements")
    assert any("missing.txt" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)


def test_the_monitoring_namespace_is_1x_hash_or_the_keyword_or_the_environment(monkeypatch):
    run = neptune.init_run(mode="debug", **{**ALL_OFF, "capture_traceback": True})
    run.stop()
    descriptor = f"{platform.node()}_{os.getpid()}_{threading.get_ident()}"
    assert run.monitoring_namespace == f"monitoring/{hashlib.sha256(descriptor.encode()).hexdigest()[-8:]}"
    values = run.fetch()
    assert values["monitoring"][run.monitoring_namespace.split("/")[1]] == {
        "hostname": platform.node(),
        "pid": str(os.getpid()),
        "tid": str(threading.get_ident()),
    }
    monkeypatch.setenv("NEPTUNE_MONITORING_NAMESPACE", "monitoring/rank0")
    env_run = neptune.init_run(mode="debug", **{**ALL_OFF, "capture_traceback": True})
    env_run.stop()
    assert env_run.monitoring_namespace == "monitoring/rank0" and env_run.exists("monitoring/rank0/pid")
    kw_run = neptune.init_run(mode="debug", **ALL_OFF, monitoring_namespace="custom/ns")
    kw_run.stop()
    assert kw_run.monitoring_namespace == "custom/ns"
    assert not kw_run.exists("custom/ns/pid")  # every monitoring capture off: no hostname/pid/tid (1.x)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"capture_stdout": "yes"}, "capture_stdout"),
        ({"capture_hardware_metrics": 1}, "capture_hardware_metrics"),
        ({"capture_traceback": None}, "capture_traceback"),
        ({"git_ref": "/repo"}, "git_ref"),
        ({"dependencies": 3}, "dependencies"),
        ({"monitoring_namespace": 5}, "monitoring_namespace"),
        ({"source_files": [1]}, "source_files"),
        ({"fail_on_exception": "no"}, "fail_on_exception"),
    ],
)
def test_a_wrong_keyword_type_names_the_keyword_and_creates_no_run(kwargs, name, isolated_data_dir):
    with pytest.raises(ValueRuleError) as err:
        neptune.init_run(mode="offline", **kwargs)
    assert err.value.path == name and err.value.rule == "init-argument-type"
    assert not (isolated_data_dir / "runs").exists() or not any((isolated_data_dir / "runs").iterdir())


def test_a_bad_period_in_the_environment_names_the_variable(monkeypatch):
    monkeypatch.setenv("NEPTUNE_SYNC_MONITORING_PERIOD", "often")
    with pytest.raises(ValueRuleError, match="NEPTUNE_SYNC_MONITORING_PERIOD"):
        neptune.init_run(mode="debug")


def test_the_heartbeat_keeps_ping_and_running_time_current(monkeypatch):
    monkeypatch.setenv("NEPTUNE_SYNC_HEARTBEAT_PERIOD", "0.1")
    started = dt.datetime.now(dt.timezone.utc)
    run = neptune.init_run(mode="offline", **ALL_OFF)
    assert run["sys/running_time"].fetch() == 0.0
    time.sleep(0.5)
    ping, running = run["sys/ping_time"].fetch(), run["sys/running_time"].fetch()
    assert ping > started and 0.2 <= running <= 5.0 and type(running) is float
    time.sleep(0.3)
    run.stop()
    assert run["sys/ping_time"].fetch() > ping and run["sys/running_time"].fetch() > running


def test_stop_writes_a_last_heartbeat_and_frees_the_run(monkeypatch):
    monkeypatch.setenv("NEPTUNE_SYNC_HEARTBEAT_PERIOD", "3600")  # only the beats at start and stop
    run = neptune.init_run(mode="offline", **{**ALL_OFF, "capture_traceback": True})
    first = run["sys/ping_time"].fetch()
    time.sleep(0.3)
    run.stop()
    assert run["sys/ping_time"].fetch() > first and run["sys/running_time"].fetch() >= 0.3
    ref = weakref.ref(run)
    del run
    gc.collect()
    assert ref() is None  # no hook or thread keeps a stopped run alive


def test_every_switch_off_leaves_only_the_heartbeat(tmp_path):
    out = run_script(
        """
        import neptune_sync as neptune
        run = neptune.init_run(mode="offline", capture_stdout=False, capture_stderr=False,
                               capture_hardware_metrics=False, capture_traceback=False,
                               git_ref=False, source_files=[])
        print("not logged")
        run.stop()
        raise SystemExit(0)
        """,
        cwd=tmp_path,
        env={"NEPTUNE_SYNC_MONITORING_PERIOD": "0.05"},
    )
    assert out.returncode == 0, out.stderr
    logged = Logged()
    assert logged.paths("monitoring/") == set()
    assert logged.paths("source_code/") == {"source_code/entrypoint"}  # 1.x named it with source_files=[]
    assert {"sys/ping_time", "sys/running_time"} <= logged.paths("sys/")


def test_interactive_sessions_capture_no_console_or_hardware_by_default(tmp_path):
    """``python -i``: 1.x turned stdout, stderr and hardware capture off; tracebacks stay on."""
    import subprocess

    code = "import neptune_sync as n; r = n.init_run(mode='offline', git_ref=False); print('hi'); r.stop()"
    done = subprocess.run(
        [sys.executable, "-i", "-c", code],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    logged = Logged()
    ((ns, fields),) = logged.namespaces().items()
    assert fields == {"hostname", "pid", "tid"}


def test_a_project_captures_nothing():
    project = neptune.init_project(project="w/p", mode="debug")
    project.stop()
    assert project.monitoring_namespace == "" and not project.exists("monitoring")
