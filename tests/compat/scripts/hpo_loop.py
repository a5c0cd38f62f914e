# Hyperparameter search: one run per trial, the best trial recorded at project level. Unchanged 1.x code.
import math

import neptune

best = None
for lr in (0.1, 0.01, 0.001):
    for batch_size in (32, 64):
        with neptune.init_run(
            project="common/examples",
            api_token=neptune.ANONYMOUS_API_TOKEN,
            tags=["hpo", f"lr={lr}"],
            capture_hardware_metrics=False,
        ) as run:
            run["parameters"] = {"lr": lr, "batch_size": batch_size}
            score = 0.0
            for step in range(20):
                score = 1 - math.exp(-lr * 100 * (step + 1) / batch_size)
                run["metrics/score"].append(score, step=step)
            run["metrics/final_score"] = score
            if best is None or score > best[0]:
                best = (score, run["sys/id"].fetch(), lr, batch_size)

project = neptune.init_project(project="common/examples", api_token=neptune.ANONYMOUS_API_TOKEN)
project["hpo/best"] = {"score": best[0], "run": best[1], "lr": best[2], "batch_size": best[3]}
project.stop()
