"""Re-run failed training, as 1.x users wrote it: find the failed runs, reopen each, read its parameters."""

import json

import neptune

project = neptune.init_project(mode="read-only")
failed = project.fetch_runs_table(state="inactive", query="sys/failed:bool = True").to_pandas()
for run_id in failed["sys/id"].values:
    run = neptune.init_run(with_id=run_id, mode="read-only")
    params = run["parameters"].fetch()
    print(json.dumps({"id": run_id, "name": run["sys/name"].fetch(), "parameters": params}))
    run.stop()
