# K-fold cross-validation logged into namespaces of one run. Unchanged 1.x code.
import neptune

run = neptune.init_run(project="common/examples", api_token=neptune.ANONYMOUS_API_TOKEN, tags=["cv"])
run["parameters"] = {"folds": 5, "epochs": 3}

scores = []
for fold in range(5):
    fold_ns = run[f"fold_{fold}"]
    for epoch in range(3):
        fold_ns["train/loss"].append(1.0 / (fold + epoch + 1), step=epoch)
    score = 0.8 + fold / 100
    fold_ns["val/acc"] = score
    fold_ns["metadata"] = {"train_size": 800, "val_size": 200}
    scores.append(score)

run["cv/mean_acc"] = sum(scores) / len(scores)
run["cv/scores"].extend(scores)
run["cv/id"] = run["sys/id"].fetch()
run.stop()
