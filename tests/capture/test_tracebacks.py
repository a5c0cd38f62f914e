"""An uncaught exception: neptune 1.x's traceback lines under the monitoring namespace, sys/failed."""

from __future__ import annotations

import platform

from capture_helpers import Logged, run_script

QUIET = "capture_hardware_metrics=False, git_ref=False, source_files=[]"


def model_lines(frames: list[tuple[str, int, str, str]], message: str) -> list[str]:
    """What neptune 1.x logged, built from the frames by hand (no traceback module)."""
    header = [
        f"An uncaught exception occurred while run was active on worker {platform.node()}.",
        "Marking run as failed",
        "Traceback:",
    ]
    body = [f'  File "{file}", line {line}, in {func}\n    {code}\n' for file, line, func, code in frames]
    return header + body + message.split("\n")


def test_a_crash_logs_the_traceback_marks_the_run_failed_and_still_prints_it(tmp_path):
    out = run_script(
        f"""
        import neptune_sync as neptune
        run = neptune.init_run(mode="offline", {QUIET})
        print("training")
        def step():
            raise ValueError("diverged\\nat step 3")
        step()
        """,
        cwd=tmp_path,
    )
    assert out.returncode == 1
    assert out.stderr.startswith("Traceback (most recent call last):")  # the default hook still ran
    assert out.stderr.endswith("ValueError: diverged\nat step 3\n")
    script = str(tmp_path / "train.py")  # line 1 of the script is blank
    logged = Logged()
    (ns,) = logged.namespaces()
    expected = model_lines(
        [(script, 7, "<module>", "step()"), (script, 6, "step", 'raise ValueError("diverged\\nat step 3")')],
        "diverged\nat step 3",
    )
    assert logged.lines(f"{ns}/traceback") == expected
    assert logged.value("sys/failed") is True
    # what the default hook printed went through the stderr copy too
    stderr = logged.lines(f"{ns}/stderr")
    assert stderr[0] == "Traceback (most recent call last):" and stderr[-2:] == [
        "ValueError: diverged",
        "at step 3",
    ]
    assert logged.lines(f"{ns}/stdout") == ["training"]
    assert logged.value("sys/state") == "Inactive"  # stopped at exit


def test_an_exception_in_another_thread_is_logged_and_chained(tmp_path):
    out = run_script(
        f"""
        import threading, neptune_sync as neptune
        seen = []
        threading.excepthook = lambda args: seen.append(args.exc_type.__name__)  # the user's own hook
        run = neptune.init_run(mode="offline", {QUIET})
        def work():
            raise KeyError("loader")
        t = threading.Thread(target=work)
        t.start(); t.join()
        run.stop()
        print(seen)
        """,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "['KeyError']"
    logged = Logged()
    (ns,) = logged.namespaces()
    lines = logged.lines(f"{ns}/traceback")
    assert lines[:3] == model_lines([], "")[:3] and lines[-1] == "'loader'"
    assert logged.value("sys/failed") is True


def test_capture_traceback_false_logs_nothing_and_fail_on_exception_false_keeps_failed_false(tmp_path):
    for kwargs, traceback_logged in (("capture_traceback=False", False), ("fail_on_exception=False", True)):
        data = tmp_path / kwargs.split("=")[0]
        out = run_script(
            f"""
            import neptune_sync as neptune
            run = neptune.init_run(mode="offline", {QUIET}, {kwargs})
            raise RuntimeError("boom")
            """,
            cwd=tmp_path,
            env={"NEPTUNE_SYNC_DIR": str(data)},
        )
        assert out.returncode == 1 and "RuntimeError: boom" in out.stderr
        logged = Logged(data)
        (ns,) = logged.namespaces()
        assert bool(logged.lines(f"{ns}/traceback")) is traceback_logged, kwargs
        assert logged.value("sys/failed") is False, kwargs


def test_after_stop_an_exception_is_not_logged(tmp_path):
    out = run_script(
        f"""
        import neptune_sync as neptune
        run = neptune.init_run(mode="offline", {QUIET})
        run.stop()
        raise RuntimeError("after the run")
        """,
        cwd=tmp_path,
    )
    assert out.returncode == 1 and "RuntimeError: after the run" in out.stderr
    logged = Logged()
    (ns,) = logged.namespaces()
    assert logged.lines(f"{ns}/traceback") == []
    assert logged.value("sys/failed") is False


def test_a_with_block_exception_uses_the_same_lines(tmp_path):
    out = run_script(
        f"""
        import neptune_sync as neptune
        try:
            with neptune.init_run(mode="offline", {QUIET}) as run:
                raise OSError("disk")
        except OSError:
            pass
        """,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    logged = Logged()
    (ns,) = logged.namespaces()
    script = str(tmp_path / "train.py")
    assert logged.lines(f"{ns}/traceback") == model_lines(
        [(script, 5, "<module>", 'raise OSError("disk")')], "disk"
    )
    assert logged.value("sys/failed") is True
