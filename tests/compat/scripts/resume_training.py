# Restart from a checkpoint: the first process trains 3 epochs and "crashes"; the restarted process
# finds the checkpoint, resumes the same run with with_id and finishes. Unchanged 1.x code.
import json
import os

import neptune
from neptune.types import File

CHECKPOINT = "checkpoint.json"
EPOCHS = 6

if os.path.exists(CHECKPOINT):
    with open(CHECKPOINT) as f:
        state = json.load(f)
    run = neptune.init_run(
        project="common/examples", api_token=neptune.ANONYMOUS_API_TOKEN, with_id=state["run_id"]
    )
    start = run["training/last_epoch"].fetch() + 1
else:
    state = {}
    run = neptune.init_run(project="common/examples", api_token=neptune.ANONYMOUS_API_TOKEN, name="resumable")
    run["parameters"] = {"epochs": EPOCHS}
    start = 0

for epoch in range(start, EPOCHS):
    run["training/loss"].append(10.0 - epoch, step=epoch)
    run["training/last_epoch"] = epoch
    state = {"run_id": run["sys/id"].fetch(), "epoch": epoch}
    with open(CHECKPOINT, "w") as f:
        json.dump(state, f)
    run["checkpoints/latest"].upload(File.from_content(json.dumps(state), extension="json"))
    if epoch == 2 and start == 0:
        run.stop()
        raise SystemExit(3)  # the first process dies here

run["training/finished"] = True
run.stop()
