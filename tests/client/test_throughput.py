"""The float-series hot path stays a fast path (the full figure is bench/client_throughput.py)."""

from __future__ import annotations

import time

from client_helpers import rows

import neptune_sync as neptune


def test_float_append_hot_path_is_fast_and_exact():
    run = neptune.init_run(project="w/p", mode="offline")
    n = 200_000
    best = float("inf")
    for attempt in range(3):
        start = time.perf_counter()
        base = attempt * n
        for i in range(base, base + n):
            run["train/loss"].append(0.25, step=i)
        best = min(best, time.perf_counter() - start)
    run.stop()
    # >= 1M calls/s on the reference machine; a loose floor here so a busy CI runner does not flake
    assert n / best > 250_000, f"{n / best:.0f} calls/s"
    values = rows(run["train/loss"].fetch_values(include_timestamp=False))
    assert len(values) == 3 * n and values[-1] == {"step": 3 * n - 1, "value": 0.25}
