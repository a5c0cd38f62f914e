# Monitoring a training run with neptune 1.x: argparse parameters, numpy / tensor-like metrics,
# images, a matplotlib figure and a config with lists. Unchanged 1.x code.
import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import neptune
import numpy as np
from neptune.types import File
from neptune.utils import stringify_unsupported

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.01)
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--model", default="resnet18")
args = parser.parse_args([])

run = neptune.init_run(
    project="common/examples",
    api_token=neptune.ANONYMOUS_API_TOKEN,
    name="monitoring",
    description="monitor a training run",
    capture_hardware_metrics=True,
    capture_stdout=True,
)
run["parameters"] = args
run["config"] = stringify_unsupported({"layers": [64, 32], "dropout": None, "augment": {"flip": True}})
run["sys/tags"].add(["monitoring", args.model])

rng = np.random.default_rng(0)
for epoch in range(args.epochs):
    loss = np.float32(1.0 / (epoch + 1))
    run["training/batch/loss"].append(loss)
    run["training/batch/acc"].append(np.array(epoch / 10))
    image = rng.random((8, 8))
    run["training/samples"].append(File.as_image(image), name=f"epoch {epoch}", description="random sample")

fig = plt.figure()
plt.plot([1, 2, 3], [3, 1, 2])
run["visuals/curve"].upload(fig)
run["visuals/curve_html"].upload(File.as_html(fig))
plt.close(fig)

run["eval/accuracy"] = np.float64(0.875)
run.wait()
run.stop()
