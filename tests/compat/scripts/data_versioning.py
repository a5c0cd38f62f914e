# Data versioning with artifacts: track a dataset, version it at project level, point the run at the
# project's version. Unchanged 1.x code.
import os

import neptune

os.makedirs("data", exist_ok=True)
with open("data/train.csv", "w") as f:
    f.write("x,y\n" + "".join(f"{i},{i * i}\n" for i in range(100)))
with open("data/val.csv", "w") as f:
    f.write("x,y\n1,1\n")

run = neptune.init_run(project="common/examples", api_token=neptune.ANONYMOUS_API_TOKEN, tags=["data"])
run["datasets/train"].track_files("data/train.csv")
run["datasets/all"].track_files("data")

project = neptune.init_project(project="common/examples", api_token=neptune.ANONYMOUS_API_TOKEN)
project["datasets/v1"].track_files("data")
project.wait()
project["datasets/latest"].assign(project["datasets/v1"].fetch())

run["datasets/from_project"].assign(project["datasets/latest"].fetch())
assert run["datasets/from_project"].fetch_hash() == run["datasets/all"].fetch_hash()
run["datasets/train_hash"] = run["datasets/train"].fetch_hash()
project.stop()
run.stop()
