"""Every capture at once: the fields a run gets, by name and type as neptune 1.x recorded them, and
each switch turning off its own fields and nothing else.

One script per case, run in a git repository with an uncommitted change: it prints to both
streams, lives past the first hardware sample and ends with an uncaught exception.
"""

from __future__ import annotations

import pytest
from capture_helpers import Logged, run_script

NS = "<ns>"  # the run's monitoring/<hash>

# Every field with every capture on (dependencies="infer"), and its 1.x type.
ALL_ON = {
    f"{NS}/hostname": "string",
    f"{NS}/pid": "string",
    f"{NS}/tid": "string",
    f"{NS}/stdout": "stringSeries",
    f"{NS}/stderr": "stringSeries",
    f"{NS}/cpu": "floatSeries",
    f"{NS}/memory": "floatSeries",
    f"{NS}/traceback": "stringSeries",
    "source_code/entrypoint": "string",
    "source_code/files": "fileSet",
    "source_code/requirements": "file",
    "source_code/diff": "file",
    "source_code/git/commit_id": "string",
    "source_code/git/message": "string",
    "source_code/git/author_name": "string",
    "source_code/git/author_email": "string",
    "source_code/git/commit_date": "datetime",
    "source_code/git/dirty": "bool",
    "source_code/git/branch": "string",
    "source_code/git/remotes": "stringSet",
    "sys/ping_time": "datetime",
    "sys/running_time": "float",
    "sys/failed": "bool",
}

# What each switch removes.
OFF = {
    "capture_stdout=False": {f"{NS}/stdout"},
    "capture_stderr=False": {f"{NS}/stderr"},
    "capture_hardware_metrics=False": {f"{NS}/cpu", f"{NS}/memory"},
    "capture_traceback=False": {f"{NS}/traceback"},
    "git_ref=False": {p for p in ALL_ON if p.startswith("source_code/git/")} | {"source_code/diff"},
    "source_files=[]": {"source_code/files"},
    "dependencies=None": {"source_code/requirements"},
}

SCRIPT = """
import sys, time, neptune_sync as neptune
kwargs = dict(dependencies="infer")
kwargs.update({switch})
run = neptune.init_run(mode="offline", **kwargs)
print("to stdout")
sys.stderr.write("to stderr\\n")
time.sleep(1.4)  # the first hardware sample comes 1 s after start
raise RuntimeError("crash")
"""


def captured(logged: Logged) -> dict[str, str]:
    """The capture's fields and their types, the monitoring namespace written as <ns>."""
    (ns,) = logged.namespaces()
    wanted = ("monitoring/", "source_code/", "sys/ping_time", "sys/running_time", "sys/failed")
    return {path.replace(ns, NS, 1): logged.type(path) for path in logged.paths() if path.startswith(wanted)}


@pytest.mark.parametrize("switch", [None, *OFF])
def test_each_switch_turns_off_its_own_fields_only(repo, switch):
    (repo / "train.py").write_text(SCRIPT.format(switch="" if switch is None else f"dict({switch})"))
    out = run_script(
        (repo / "train.py").read_text(),
        cwd=repo,
        env={"NEPTUNE_SYNC_DIR": str(repo.parent / "data"), "NEPTUNE_SYNC_MONITORING_PERIOD": "0.2"},
    )
    assert out.returncode == 1 and out.stderr.endswith("RuntimeError: crash\n"), out.stderr
    assert out.stdout == "to stdout\n"
    logged = Logged(repo.parent / "data")
    gone = OFF.get(switch, set())
    assert captured(logged) == {path: kind for path, kind in ALL_ON.items() if path not in gone}
    assert logged.value("sys/failed") is (switch != "capture_traceback=False")
