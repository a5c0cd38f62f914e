# Neptune 1.x quickstart ("hello neptune"), unchanged.
import neptune

run = neptune.init_run(
    project="common/examples",
    api_token=neptune.ANONYMOUS_API_TOKEN,
    tags=["quickstart", "script"],
)

params = {"learning_rate": 0.001, "optimizer": "Adam"}
run["parameters"] = params

for epoch in range(10):
    run["train/loss"].append(0.9**epoch)
    run["train/accuracy"].append(1 - 0.9**epoch)

run["eval/f1_score"] = 0.66

run.stop()
