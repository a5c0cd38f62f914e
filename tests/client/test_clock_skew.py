"""A run resumed after a writer whose timestamps ran ahead (a future ``timestamp=``, or a host whose
clock is fast) reads back everything both processes logged: the resumed writer's causal floor
(docs/sync-protocol.md, "Clocks") puts its records after everything it resumed from.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import neptune_sync as neptune

EARLIER = """
import time, neptune_sync as n
r = n.init_run(project="w/p", mode="offline", custom_run_id="skew", capture_stdout=False,
               capture_stderr=False, capture_hardware_metrics=False)
for i in range(1000):
    r["loss"].append(float(i), step=i, timestamp=time.time() + 300)
r["note"] = "A"
r.stop()
"""
LATER = """
import neptune_sync as n
r = n.init_run(project="w/p", mode="offline", custom_run_id="skew", capture_stdout=False,
               capture_stderr=False, capture_hardware_metrics=False)
for i in range(1000, 2000):
    r["loss"].append(float(i), step=i)
r["note"] = "B"
r.stop()
"""


def test_a_run_resumed_after_a_writer_ahead_in_time_keeps_both_processes_points():
    for script in (EARLIER, LATER):
        subprocess.run([sys.executable, "-c", textwrap.dedent(script)], check=True, timeout=120)
    run = neptune.init_run(project="w/p", mode="offline", custom_run_id="skew", capture_stdout=False,
                           capture_stderr=False, capture_hardware_metrics=False)
    try:
        steps = [row["step"] for row in _rows(run["loss"].fetch_values(include_timestamp=False))]
        assert steps == [float(i) for i in range(2000)] and run["note"].fetch() == "B"
    finally:
        run.stop()


def _rows(values):
    return values.to_dict("records") if hasattr(values, "to_dict") else values
