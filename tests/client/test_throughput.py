"""The float-series hot path stays the packed path: 16 bytes a point on disk, every point read back.

Speed is measured by bench/client_throughput.py against a baseline in the same run, not here.
"""

from __future__ import annotations

from client_helpers import rows

import neptune_sync as neptune
from neptune_sync.oplog import layout


def test_float_append_hot_path_packs_points_and_is_exact():
    run = neptune.init_run(
        project="w/p",
        mode="offline",
        capture_stdout=False,
        capture_stderr=False,
        capture_hardware_metrics=False,
        capture_traceback=False,
        git_ref=False,
        source_files=[],
    )
    n = 600_000
    for i in range(n):
        run["train/loss"].append(0.25, step=i)
    run.stop()
    used = sum(p.stat().st_size for p in layout.segments_dir(run.run_path).glob("*.seg"))
    assert used / n < 16.2, f"{used / n:.2f} bytes per point: appends left the packed points frames"
    values = rows(run["train/loss"].fetch_values(include_timestamp=False))
    assert len(values) == n and values[-1] == {"step": n - 1, "value": 0.25}
