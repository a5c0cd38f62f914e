"""Three training runs as a neptune 1.x user logged them; the one with lr=0.3 crashes."""

import neptune

for lr in (0.1, 0.3, 0.5):
    try:
        with neptune.init_run(tags=["sweep"], name=f"lr-{lr}") as run:
            run["parameters"] = {"lr": lr, "batch_size": 32, "optimizer": "sgd"}
            for epoch in range(3):
                run["train/loss"].append(1.0 / (epoch + 1) / lr)
                if lr == 0.3 and epoch == 1:
                    raise RuntimeError("CUDA out of memory")
    except RuntimeError:
        pass
