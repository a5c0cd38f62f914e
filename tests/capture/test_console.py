"""stdout / stderr copied into ``<monitoring namespace>/stdout|stderr`` line by line.

Each test runs a real script in a child process: the terminal side is the child's real pipes
(or a pty), the logged side is read back from the run's log on disk.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys

from capture_helpers import Logged, run_script

from neptune_sync.capture.console import StreamCopy

OFF_BUT_CONSOLE = "capture_hardware_metrics=False, git_ref=False, source_files=[], capture_traceback=False"


def test_interleaved_stdout_and_stderr_reach_the_terminal_unchanged_and_are_logged_in_order(tmp_path):
    out = run_script(
        f"""
        import sys, neptune_sync as neptune
        run = neptune.init_run(mode="offline", {OFF_BUT_CONSOLE})
        for i in range(200):
            print(f"out {{i}}")
            sys.stderr.write(f"err {{i}}\\n")
            if i % 50 == 0:
                print("two", "parts", i, sep="-")  # several write() calls make one line
        sys.stdout.write("no newline at the end")
        run.stop()
        print("after stop")
        """,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    expected_out = []
    for i in range(200):
        expected_out.append(f"out {i}")
        if i % 50 == 0:
            expected_out.append(f"two-parts-{i}")
    assert out.stdout == "\n".join(expected_out) + "\nno newline at the endafter stop\n"
    assert out.stderr == "".join(f"err {i}\n" for i in range(200))
    logged = Logged()
    ((ns, fields),) = logged.namespaces().items()
    assert {"stdout", "stderr"} <= fields
    stdout, stderr = logged.series(f"{ns}/stdout"), logged.series(f"{ns}/stderr")
    assert [v for _, v, _ in stdout] == [*expected_out, "no newline at the end"]
    assert [v for _, v, _ in stderr] == [f"err {i}" for i in range(200)]
    assert [s for s, _, _ in stdout] == list(range(len(stdout)))  # steps 0, 1, 2, ...
    # the timestamps of both series follow the order the lines were written in
    stamps = {v: ts for _, v, ts in stdout + stderr}
    written = []
    for i in range(200):
        written += [f"out {i}", f"err {i}"] + ([f"two-parts-{i}"] if i % 50 == 0 else [])
    in_order = [stamps[v] for v in written]
    assert in_order == sorted(in_order)


def test_carriage_return_progress_bars_log_their_last_state_not_every_redraw(tmp_path):
    out = run_script(
        f"""
        import sys, neptune_sync as neptune
        run = neptune.init_run(mode="offline", {OFF_BUT_CONSOLE})
        for i in range(5000):
            print(f"{{i / 50:.0f}}% |{{'#' * (i // 500)}}", end="\\r")
        print("100% done")
        for i in range(1000):
            sys.stderr.write(f"\\rbar {{i}}")
        sys.stderr.write("\\n")
        print("line\\r\\nwindows line")
        print("epoch 1", end="\\r"); print()  # a redraw of nothing leaves the line as it was
        print("partial", end="\\r")  # the unfinished line: logged by stop()
        run.stop()
        """,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    # the terminal got every redraw
    assert out.stdout.count("\r") == 5003
    assert out.stdout.endswith("100% done\nline\r\nwindows line\nepoch 1\r\npartial\r")
    assert out.stderr.count("\r") == 1000
    logged = Logged()
    ((ns, _),) = logged.namespaces().items()
    # the first redrawn state (at most one per 30 s), then what the terminal finally shows
    assert logged.lines(f"{ns}/stdout") == ["0% |", "100% done", "line", "windows line", "epoch 1", "partial"]
    assert logged.lines(f"{ns}/stderr") == ["bar 0", "bar 999"]


def test_a_progress_state_is_logged_at_most_once_per_interval_and_never_twice_in_a_row(capsys):
    """The rule alone, with a clock the test moves (an independent model: the list of expectations)."""
    logged: list[str] = []
    now = [0.0]
    copy = StreamCopy("stdout", logged.append, child_log_line=lambda: logged.append, clock=lambda: now[0])
    try:
        for i in range(100):
            now[0] = i  # one redraw a second
            print(f"\r{i}%", end="")
        print("\rdone")
        print("same", end="\r")  # 9 s after the last logged state: not logged, and "again" replaces it
        now[0] = 200.0
        print("again", end="\r")  # logged as progress
        now[0] = 240.0
        print(end="\r")  # an empty redraw 40 s later: the same state, not logged twice
        print()  # the line ends as "again": logged already
        now[0] = 300.0
        print("tail", end="\r")  # progress; stop() does not log it a second time
    finally:
        copy.stop()
    assert logged == ["0%", "30%", "60%", "90%", "done", "again", "tail"]
    assert capsys.readouterr().out.count("\r") == 105


def test_stream_features_are_the_original_streams(tmp_path):
    """On a real terminal (a pty): isatty, fileno, encoding, flush, write's return value."""
    script = tmp_path / "tty.py"
    script.write_text(
        f"""
import json, sys, neptune_sync as neptune
before = dict(isatty=sys.stdout.isatty(), fileno=sys.stdout.fileno(), encoding=sys.stdout.encoding,
              errors=sys.stdout.errors, line_buffering=sys.stdout.line_buffering)
run = neptune.init_run(mode="offline", {OFF_BUT_CONSOLE})
wrapped = sys.stdout is not sys.__stdout__
after = dict(isatty=sys.stdout.isatty(), fileno=sys.stdout.fileno(), encoding=sys.stdout.encoding,
             errors=sys.stdout.errors, line_buffering=sys.stdout.line_buffering)
n = sys.stdout.write("héllo\\n")
sys.stdout.writelines(["a\\n", "b\\n"])
sys.stdout.flush()
sys.stdout.buffer.write(b"raw bytes\\n")  # the binary layer is the original's: not logged
sys.stdout.flush()
run.stop()
restored = sys.stdout is sys.__stdout__
print(json.dumps(dict(same=before == after, wrapped=wrapped, n=n, restored=restored, tty=after["isatty"])))
"""
    )
    leader, follower = pty.openpty()
    with subprocess.Popen(
        [sys.executable, str(script)], cwd=tmp_path, stdout=follower, stderr=subprocess.PIPE
    ) as proc:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the pty
                break
            if not chunk:
                break
            chunks.append(chunk)
        _, err = proc.communicate(timeout=60)
    os.close(leader)
    assert proc.returncode == 0, err
    terminal = b"".join(chunks).decode().replace("\r\n", "\n")
    import json

    result = json.loads(terminal.strip().splitlines()[-1])
    assert result == {"same": True, "wrapped": True, "n": 6, "restored": True, "tty": True}
    assert "héllo\na\nb\nraw bytes\n" in terminal
    logged = Logged()
    ((ns, _),) = logged.namespaces().items()
    assert logged.lines(f"{ns}/stdout") == ["héllo", "a", "b"]


def test_long_lines_are_split_at_the_series_limit_not_cut(tmp_path):
    out = run_script(
        f"""
        import neptune_sync as neptune
        run = neptune.init_run(mode="offline", {OFF_BUT_CONSOLE})
        print("x" * 2500)
        print()
        run.stop()
        """,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    logged = Logged()
    ((ns, _),) = logged.namespaces().items()
    assert logged.lines(f"{ns}/stdout") == ["x" * 1000, "x" * 1000, "x" * 500, ""]


def test_a_child_process_writes_to_the_real_descriptor_which_is_not_logged_as_in_neptune_1x(tmp_path):
    """neptune 1.x replaced ``sys.stdout`` only; a subprocess inherits file descriptor 1 itself."""
    out = run_script(
        f"""
        import subprocess, sys, neptune_sync as neptune
        run = neptune.init_run(mode="offline", {OFF_BUT_CONSOLE})
        print("parent before", flush=True)
        subprocess.run([sys.executable, "-c", "print('from the child')"], check=True)
        print("parent after")
        run.stop()
        """,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == "parent before\nfrom the child\nparent after\n"
    logged = Logged()
    ((ns, _),) = logged.namespaces().items()
    assert logged.lines(f"{ns}/stdout") == ["parent before", "parent after"]


def test_after_fork_the_child_logs_its_own_lines_under_its_own_namespace(tmp_path):
    out = run_script(
        f"""
        import os, sys, neptune_sync as neptune
        run = neptune.init_run(mode="offline", {OFF_BUT_CONSOLE})
        sys.stdout.write("parent partial ")
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            for i in range(50):
                print(f"child {{i}}")
            sys.stdout.flush()
            os._exit(0)  # as multiprocessing's fork children end
        os.waitpid(pid, 0)
        print("line end")
        for i in range(50):
            print(f"parent {{i}}")
        run.stop()
        print(pid)
        """,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    child_pid = int(out.stdout.strip().splitlines()[-1])
    logged = Logged()
    import hashlib
    import platform
    import threading  # noqa: F401  (the child's thread id is its forking thread's: the main thread)

    namespaces = logged.namespaces()
    assert len(namespaces) == 2
    parent_ns = next(ns for ns, fields in namespaces.items() if "pid" in fields)
    (child_ns,) = set(namespaces) - {parent_ns}
    tid = int(logged.value(f"{parent_ns}/tid"))
    model = hashlib.sha256(f"{platform.node()}_{child_pid}_{tid}".encode()).hexdigest()[-8:]
    assert child_ns == f"monitoring/{model}"
    assert logged.lines(f"{child_ns}/stdout") == [f"child {i}" for i in range(50)]
    assert logged.lines(f"{parent_ns}/stdout") == ["parent partial line end"] + [
        f"parent {i}" for i in range(50)
    ]


def test_stop_restores_the_streams_and_a_later_wrapper_keeps_working(tmp_path):
    out = run_script(
        f"""
        import io, sys, neptune_sync as neptune
        original = sys.stdout
        run = neptune.init_run(mode="offline", {OFF_BUT_CONSOLE})
        ours = sys.stdout

        class Tee:  # another tool wraps sys.stdout after us
            def __init__(self, inner): self.inner = inner
            def write(self, s): return self.inner.write(s.upper())
            def flush(self): self.inner.flush()

        sys.stdout = Tee(ours)
        print("wrapped")
        run.stop()
        print("still printing")  # through Tee and our pass-through wrapper
        sys.stdout = original
        print(isinstance(sys.stderr, io.TextIOWrapper), sys.excepthook is not None)
        """,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == "WRAPPED\nSTILL PRINTING\nTrue True\n"
    logged = Logged()
    ((ns, _),) = logged.namespaces().items()
    assert logged.lines(f"{ns}/stdout") == ["WRAPPED"]


def test_a_crash_in_a_progress_loop_logs_the_bar_s_last_state_and_the_printed_traceback(tmp_path):
    out = run_script(
        """
        import sys, neptune_sync as neptune
        run = neptune.init_run(mode="offline", capture_hardware_metrics=False, git_ref=False, source_files=[])
        print("epoch 0 done")
        for i in range(3000):
            print(f"step {i}", end="\\r")
            if i == 2500:
                sys.stderr.write("warning: loss spike")  # an unfinished stderr line, then the traceback
                raise FloatingPointError("nan loss")
        """,
        cwd=tmp_path,
    )
    assert out.returncode == 1
    assert out.stdout == "epoch 0 done\n" + "".join(f"step {i}\r" for i in range(2501))
    assert out.stderr.startswith("warning: loss spikeTraceback (most recent call last):\n")
    logged = Logged()
    ((ns, _),) = logged.namespaces().items()
    # the first redrawn state, then the one on screen when the process ended (stop() at exit)
    assert logged.lines(f"{ns}/stdout") == ["epoch 0 done", "step 0", "step 2500"]
    stderr = logged.lines(f"{ns}/stderr")
    assert stderr[0] == "warning: loss spikeTraceback (most recent call last):"
    assert stderr[-1] == "FloatingPointError: nan loss"
    assert logged.lines(f"{ns}/traceback")[-1] == "nan loss"
    assert logged.value("sys/failed") is True
