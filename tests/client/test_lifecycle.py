"""Modes, resuming a run, fork safety and contained logging failures."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time

import pytest
from client_helpers import rows

import neptune_sync as neptune
from neptune_sync import runlog as runlog_module
from neptune_sync.exceptions import LoggingDisabledError, NeedsStoreError, NeptuneUserError, TypeConflictError
from neptune_sync.oplog import layout
from neptune_sync.oplog.reader import read_run, segment_files
from neptune_sync.oplog.writer import OpLogWriter


def test_debug_mode_writes_nothing_to_disk(isolated_data_dir, tmp_path):
    run = neptune.init_run(mode="debug")
    run["p"] = 1
    run["loss"].append(0.5, step=1)
    run["f"].upload(neptune.File.from_content(b"abc"))
    assert rows(run["loss"].fetch_values(include_timestamp=False)) == [{"step": 1.0, "value": 0.5}]
    assert run["p"].fetch() == 1
    assert run["f"].download(str(tmp_path / "f.bin")).read_bytes() == b"abc"
    run.stop()
    assert run["sys/state"].fetch() == "Inactive"  # read-back still works after stop()
    assert not isolated_data_dir.exists()
    assert run.run_path is None and run.get_url() == ""


def test_sync_mode_needs_a_token_and_the_daemon(monkeypatch):
    with pytest.raises(NeedsStoreError, match="mode='sync'.*NEPTUNE_API_TOKEN.*mode='async'"):
        neptune.init_run(project="w/p", mode="sync")
    monkeypatch.setenv("NEPTUNE_SYNC_NO_DAEMON", "1")
    with pytest.raises(NeedsStoreError, match="NEPTUNE_SYNC_NO_DAEMON"):
        neptune.init_run(project="w/p", mode="sync", api_token="t")
    with pytest.raises(NeedsStoreError, match="init_run"):
        neptune.Run(project="w/p", mode="read-only")


def test_read_only_mode_needs_a_token_and_a_run(monkeypatch):
    with pytest.raises(NeedsStoreError, match="mode='read-only'.*NEPTUNE_API_TOKEN"):
        neptune.init_run("W-1", project="w/p", mode="read-only")
    monkeypatch.setenv("NEPTUNE_MODE", "read-only")
    with pytest.raises(NeptuneUserError, match="pass with_id= or custom_run_id="):
        neptune.init_run(project="w/p", api_token="x")


def test_neptune_options_are_accepted_and_typos_are_not():
    run = neptune.init_run(
        mode="debug", capture_stdout=False, git_ref=False, proxies={}, dependencies="infer"
    )
    run.stop()
    with pytest.raises(TypeError, match="unexpected keyword arguments: nmae"):
        neptune.init_run(mode="debug", nmae="typo")


def test_bad_mode_and_missing_project():
    with pytest.raises(NeptuneUserError, match="mode must be one of"):
        neptune.init_run(mode="fast")
    with pytest.raises(NeptuneUserError, match="NEPTUNE_PROJECT"):
        neptune.init_run(mode="async")


def test_environment_variables_are_read(monkeypatch, isolated_data_dir):
    monkeypatch.setenv("NEPTUNE_PROJECT", "ws/env-project")
    monkeypatch.setenv("NEPTUNE_MODE", "offline")
    monkeypatch.setenv("NEPTUNE_CUSTOM_RUN_ID", "job-42")
    monkeypatch.setenv("NEPTUNE_API_TOKEN", "secret-token")
    run = neptune.init_run()
    run.stop()
    identity = layout.read_identity(run.run_path)
    assert (identity.project, identity.custom_run_id, identity.mode) == (
        "ws/env-project",
        "job-42",
        "offline",
    )
    assert run["sys/custom_run_id"].fetch() == "job-42"
    assert not any(b"secret-token" in p.read_bytes() for p in isolated_data_dir.rglob("*") if p.is_file())


def test_async_mode_without_daemon_logs_locally(monkeypatch):
    monkeypatch.setenv("NEPTUNE_SYNC_NO_DAEMON", "1")
    with neptune.init_run(project="w/p") as run:
        run["x"] = 1
    started = time.monotonic()
    run.wait()  # no daemon: returns at once
    assert time.monotonic() - started < 1.0
    assert layout.read_identity(run.run_path).mode == "async"


def test_resume_by_custom_run_id_learns_types_and_steps(caplog):
    first = neptune.init_run(project="w/p", mode="offline", custom_run_id="exp-1", name="first")
    first["loss"].append(1.0, step=10)
    first["lr"] = 0.1
    first.stop()
    created = first["sys/creation_time"].fetch()

    second = neptune.init_run(project="w/p", mode="offline", custom_run_id="exp-1", tags="resumed")
    assert second.run_path == first.run_path
    assert second["sys/id"].fetch() == first["sys/id"].fetch()
    with pytest.raises(TypeConflictError, match="'lr' is a float field"):
        second["lr"] = "text"
    with caplog.at_level(logging.WARNING, "neptune_sync"):
        second["loss"].append(2.0, step=10)  # not after the resumed run's last step
    second["loss"].append(3.0, step=11)
    assert [(r["step"], r["value"]) for r in rows(second["loss"].fetch_values())] == [(10, 1.0), (11, 3.0)]
    assert "step-increasing" in caplog.text
    assert second["sys/name"].fetch() == "first"  # kept: no name given on resume
    assert second["sys/creation_time"].fetch() == created
    assert second["sys/tags"].fetch() == {"resumed"}
    second.stop()
    writers = {p.name.split("-")[0] for p in segment_files(layout.segments_dir(second.run_path))}
    assert len(writers) == 2  # each process session writes its own segments


def test_resume_with_id_and_unknown_id():
    run = neptune.init_run(project="w/p", mode="offline")
    run["a"] = 1
    run.stop()
    again = neptune.init_run(run["sys/id"].fetch(), project="w/p", mode="offline")
    assert again["a"].fetch() == 1
    again.stop()
    with pytest.raises(NeptuneUserError, match="no run with id 'W-NOPE'"):
        neptune.init_run(with_id="W-NOPE", project="w/p", mode="offline")


def test_forked_child_logs_through_its_own_writer():
    run = neptune.init_run(project="w/p", mode="offline")
    run["parent/before"].append(1.0, step=0)
    parent_writer = run._runlog.writer.writer_id
    pid = os.fork()
    if pid == 0:  # child: log, close, and leave without running the parent's atexit/pytest
        code = 0
        try:
            for i in range(1000):
                run["child/x"].append(float(i), step=i)
            run["child/done"] = True
            code = 0 if run._runlog.writer.writer_id != parent_writer else 3
            run.stop()
        except BaseException:
            code = 4
        os._exit(code)
    for i in range(1, 1000):
        run["parent/before"].append(float(i), step=i)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert run._runlog.writer.writer_id == parent_writer
    run.stop()
    by_writer: dict[str, set[str]] = {}
    for header, entry in read_run(layout.segments_dir(run.run_path)):
        by_writer.setdefault(header.writer_id, set()).add(entry.op.path)
    assert len(by_writer) == 2
    child_paths = next(paths for writer, paths in by_writer.items() if writer != parent_writer)
    assert child_paths == {"child/x", "child/done"}  # the child did not touch sys/state
    assert len(rows(run["parent/before"].fetch_values())) == 1000
    assert len(rows(run["child/x"].fetch_values())) == 1000
    assert run["sys/state"].fetch() == "Inactive"


class _FailingAfter:
    """A writer factory whose segments go into a directory that turns into a file: real ENOTDIR."""

    def __init__(self, segment_size: int = 8192) -> None:
        self.segment_size = segment_size
        self.writers: list[OpLogWriter] = []

    def __call__(self, segments_dir, **kwargs):
        writer = OpLogWriter(segments_dir, segment_size=self.segment_size, **kwargs)
        self.writers.append(writer)
        return writer

    def break_disk(self, segments_dir) -> None:
        for p in segments_dir.iterdir():
            p.rename(segments_dir.parent / p.name)
        segments_dir.rmdir()
        segments_dir.write_text("not a directory")


def test_logging_failure_is_contained_and_reported(caplog, monkeypatch):
    monkeypatch.setattr(runlog_module, "RETRY_INTERVAL", 3600.0)
    factory = _FailingAfter()
    run = neptune.init_run(project="w/p", mode="offline", writer_factory=factory)
    factory.break_disk(layout.segments_dir(run.run_path))
    with caplog.at_level(logging.ERROR, "neptune_sync"):
        for i in range(2000):  # rotation needs a new segment file: it fails, training goes on
            run["loss"].append(float(i), step=i)
        run["p"] = 1
    assert run.dropped_operations > 0
    assert caplog.text.count("could not write the operation log") == 1  # rate-limited
    assert "NEPTUNE_SYNC_STRICT" in caplog.text
    run.stop()


def test_logging_failure_raises_when_strict():
    factory = _FailingAfter()
    run = neptune.init_run(project="w/p", mode="offline", writer_factory=factory, fail_on_logging_error=True)
    factory.break_disk(layout.segments_dir(run.run_path))
    with pytest.raises(LoggingDisabledError, match="cannot open a new log segment"):
        for i in range(2000):
            run["loss"].append(float(i), step=i)
    assert run.dropped_operations == 1
    with pytest.raises(LoggingDisabledError):  # strict: stopping cannot flush the log either
        run.stop()


def test_unwritable_data_dir_does_not_stop_training(monkeypatch, tmp_path, caplog):
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    monkeypatch.setenv("NEPTUNE_SYNC_DIR", str(blocker))
    with caplog.at_level(logging.ERROR, "neptune_sync"):
        run = neptune.init_run(project="w/p", mode="offline")
        for i in range(10):
            run["loss"].append(float(i), step=i)
    assert run.dropped_operations >= 10
    assert "cannot create the run directory" in caplog.text
    run.stop()
    monkeypatch.setenv("NEPTUNE_SYNC_STRICT", "1")
    with pytest.raises(LoggingDisabledError):
        neptune.init_run(project="w/p", mode="offline")


def test_logging_resumes_after_the_disk_recovers(monkeypatch):
    monkeypatch.setattr(runlog_module, "RETRY_INTERVAL", 0.0)
    factory = _FailingAfter()
    run = neptune.init_run(project="w/p", mode="offline", writer_factory=factory)
    segments = layout.segments_dir(run.run_path)
    factory.break_disk(segments)
    logging.getLogger("neptune_sync").disabled = True
    try:
        for i in range(2000):
            run["loss"].append(float(i), step=i)
        dropped = run.dropped_operations
        segments.unlink()  # the disk recovers
        segments.mkdir()
        run["loss"].append(1.0, step=5000)
    finally:
        logging.getLogger("neptune_sync").disabled = False
    assert dropped > 0 and run.dropped_operations == dropped
    assert len(factory.writers) >= 2
    assert run["loss"].fetch_last() == 1.0
    run.stop()


def test_flush_period_thread_fsyncs_and_stops():
    run = neptune.init_run(project="w/p", mode="offline", flush_period=0.05)
    flusher = run._runlog._flusher
    assert flusher is not None and flusher._thread.is_alive()
    run.stop()
    assert not flusher._thread.is_alive()


def test_uncaught_exception_marks_the_run_failed_and_exit_stops_it(isolated_data_dir):
    script = (
        "import neptune_sync as neptune\n"
        "run = neptune.init_run(project='w/p', mode='offline', custom_run_id='crash')\n"
        "run['loss'].append(1.0, step=0)\n"
        "raise ValueError('diverged')\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "ValueError: diverged" in out.stderr
    run = neptune.init_run(project="w/p", mode="offline", custom_run_id="crash")
    assert run["sys/failed"].fetch() is True
    monitoring = run.get_structure()["monitoring"]  # one monitoring/<hash> per process
    (namespace,) = [ns for ns, fields in monitoring.items() if "traceback" in fields]
    traceback = rows(run[f"monitoring/{namespace}/traceback"].fetch_values())
    assert any("diverged" in row["value"] for row in traceback)
    assert run["sys/state"].fetch() == "Active"  # resumed by this process
    run.stop()
    log = [e.op for _, e in read_run(layout.segments_dir(run.run_path))]
    assert (
        sum(1 for op in log if op.path == "sys/state" and op.value == "Inactive") == 2
    )  # atexit, then stop()


def test_writes_after_stop_raise_and_change_nothing():
    run = neptune.init_run(mode="offline")
    run.stop()
    for write in (
        lambda: run.__setitem__("x", 1),
        lambda: run["s"].append("a"),
        lambda: run["f"].append(1.0),
    ):
        with pytest.raises(neptune.exceptions.InactiveRunError):
            write()
    assert not run.exists("x") and not run.exists("s") and not run.exists("f")
    run.stop()  # idempotent


def test_read_back_follows_the_log_incrementally_and_exactly():
    run = neptune.init_run(project="w/p", mode="offline", custom_run_id="follow")
    run["loss"].append(0.0, step=0)
    run["loss"].append(1.0, step=1)
    assert run["loss"].fetch_last() == 1.0
    for i in range(2, 2000):  # grows the frame read above, then more frames
        run["loss"].append(float(i), step=i)
    run["note"] = "between"
    run["loss"].append(5000.0, step=5000)
    values = rows(run["loss"].fetch_values(include_timestamp=False))
    assert [v["step"] for v in values] == [*range(2000), 5000]
    assert run["note"].fetch() == "between"
    other = neptune.init_run(project="w/p", mode="offline", custom_run_id="follow")  # a second writer
    other["from_other"] = 7
    other.stop()
    assert run["from_other"].fetch() == 7
    assert len(rows(run["loss"].fetch_values())) == 2001
    run.stop()


def test_buffered_durability_reaches_the_file_every_flush_period(monkeypatch):
    monkeypatch.setenv("NEPTUNE_SYNC_DURABILITY", "buffered")
    run = neptune.init_run(project="w/p", mode="offline", flush_period=0.1)
    assert run._runlog.writer.durability == "buffered"
    for i in range(100):
        run["loss"].append(float(i), step=i)

    def points_on_disk() -> int:
        segments = layout.segments_dir(run.run_path)
        return sum(len(e.op.points) for _, e in read_run(segments) if e.op.path == "loss")

    deadline = time.monotonic() + 10
    while points_on_disk() < 100 and time.monotonic() < deadline:  # no flush() call: the thread does it
        time.sleep(0.05)
    assert points_on_disk() == 100
    run["loss"].append(100.0, step=100)
    assert run["loss"].fetch_last() == 100.0  # read-back flushes first
    run.stop()


def test_read_back_of_interleaved_series_while_they_grow():
    run = neptune.init_run(project="w/p", mode="offline")
    expected: dict[str, list[tuple[int, float]]] = {"m/a": [], "m/b": [], "m/c": []}
    for step in range(3000):
        for name, points in expected.items():
            if step % (1 + len(name) % 2) == 0 or name == "m/a":
                run[name].append(step / 7, step=step)
                points.append((step, step / 7))
        if step in (5, 700, 2047):  # read while frames are still growing
            for name, points in expected.items():
                got = rows(run[name].fetch_values(include_timestamp=False))
                assert [(r["step"], r["value"]) for r in got] == points
    for name, points in expected.items():
        got = rows(run[name].fetch_values(include_timestamp=False))
        assert [(r["step"], r["value"]) for r in got] == points
    run.stop()


def test_get_url_is_the_web_app_page_when_the_token_names_a_store(monkeypatch):
    from neptune_sync.wire.token import ApiToken

    monkeypatch.setenv("NEPTUNE_API_TOKEN", ApiToken("http://store.example:8470/", "s3cret").format())
    with neptune.init_run(project="team.a/p", mode="offline", custom_run_id="c 1") as run:
        run_id = run["sys/id"].fetch()
        assert run.get_url() == f"http://store.example:8470/#/p/team.a%2Fp/run/{run_id}"
    monkeypatch.setenv("NEPTUNE_API_TOKEN", "bare-secret-without-address")
    with neptune.init_run(project="w/p", mode="offline") as run:
        assert run.get_url() == run.run_path.resolve().as_uri()


def test_a_projects_url_is_its_runs_table_in_the_web_app(monkeypatch):
    from neptune_sync.wire.token import ApiToken

    monkeypatch.setenv("NEPTUNE_API_TOKEN", ApiToken("http://store.example:8470", "s3cret").format())
    project = neptune.init_project(project="team.a/p-q", mode="offline")
    try:
        assert project.get_url() == "http://store.example:8470/#/p/team.a%2Fp-q/runs"
    finally:
        project.stop()
