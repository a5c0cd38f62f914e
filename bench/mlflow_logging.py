"""MLflow's client logging float points into its SQLite store: the comparison for store_ingest.py.

    python bench/mlflow_logging.py POINTS SERIES DIR   ->  prints points/s as one number

Imports only mlflow and the stdlib, so it can run in another environment than neptune-sync's
(``store_ingest.py --mlflow-python``). One ``log_batch`` per step with one metric per series, the
way a training loop logs.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from mlflow.entities import Metric
from mlflow.tracking import MlflowClient


def main(points: int, series: int, directory: Path) -> float:
    client = MlflowClient(tracking_uri=f"sqlite:///{directory / 'mlflow.db'}")
    run = client.create_run(client.create_experiment("bench"))
    steps = max(1, points // series)
    started = time.perf_counter()
    for step in range(steps):
        metrics = [
            Metric(f"series_{k:03d}", step * 0.001 + k, 1_700_000_000_000 + step, step) for k in range(series)
        ]
        client.log_batch(run.info.run_id, metrics=metrics)
    return steps * series / (time.perf_counter() - started)


if __name__ == "__main__":
    print(f"{main(int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])):.1f}")
