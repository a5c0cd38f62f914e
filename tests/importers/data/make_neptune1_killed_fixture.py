"""Regenerate neptune1_killed/: the real neptune 1.x client in offline mode, SIGKILLed while the
queue file's write buffer still held data (not run by the tests).

    cd /tmp/neptune1-killed-gen && /tmp/nep1/bin/python .../make_neptune1_killed_fixture.py
    then copy .neptune/ to tests/importers/data/neptune1_killed/
"""

import os
import signal
import time

import neptune

run = neptune.init_run(
    mode="offline",
    capture_hardware_metrics=False,
    capture_stdout=False,
    capture_stderr=False,
    git_ref=False,
    source_files=[],
)
for step in range(200):
    run["train/loss"].append(1.0 / (step + 1), step=step)
time.sleep(0.2)
os.kill(os.getpid(), signal.SIGKILL)
