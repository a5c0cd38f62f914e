"""XGBoost: ``NeptuneCallback`` for ``xgb.train`` / ``xgb.cv`` and the sklearn API.

Fields as neptune-xgboost, under ``base_namespace`` (default ``training``): ``epoch`` and
``learning_rate`` series, ``<set>/<metric>`` series (cv: ``<set>/<metric>/mean`` and ``/std``),
``booster_config``, ``early_stopping/best_score`` / ``best_iteration``, ``plots/importance`` (PNG)
and ``pickled_model`` (cv: per fold, ``fold_<i>/...``). Tree drawings (Graphviz) are not made.
Version key ``source_code/integrations/neptune-xgboost``.
"""

from __future__ import annotations

import json
from typing import Any

import xgboost as xgb

from ..handler import Handler
from ..run import Run
from ..types import File, stringify_unsupported
from .utils import client_version, expect_not_an_experiment, namespace, root_of, verify_type

INTEGRATION_VERSION_KEY = "source_code/integrations/neptune-xgboost"

__all__ = ["NeptuneCallback"]


class NeptuneCallback(xgb.callback.TrainingCallback):
    """An XGBoost training callback (``callbacks=[NeptuneCallback(run=run)]``).

    Args:
        run: a run, or a namespace handler of one.
        base_namespace: namespace inside ``run`` (default ``"training"``).
        log_model: upload the pickled booster at the end.
        log_importance: upload the feature importance chart (needs matplotlib).
        max_num_features: features on the importance chart (None: all).
    """

    def __init__(
        self,
        run: Run | Handler,
        base_namespace: str = "training",
        log_model: bool = True,
        log_importance: bool = True,
        max_num_features: int | None = None,
    ) -> None:
        super().__init__()
        expect_not_an_experiment(run)
        verify_type("run", run, (Run, Handler))
        verify_type("base_namespace", base_namespace, str)
        verify_type("log_model", log_model, bool)
        verify_type("log_importance", log_importance, bool)
        verify_type("max_num_features", max_num_features, (int, type(None)))
        self.run = namespace(run, base_namespace)
        self._log_model = log_model
        self._log_importance = log_importance
        self._max_num_features = max_num_features
        self._cv = False
        root_of(run)[INTEGRATION_VERSION_KEY] = client_version()

    def before_training(self, model: Any) -> Any:
        self._cv = hasattr(model, "cvfolds")
        return model

    def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, Any]) -> bool:
        self.run["epoch"].append(epoch)
        for stage, metrics in evals_log.items():
            for metric, values in metrics.items():
                if self._cv:
                    mean, std = values[-1]
                    self.run[f"{stage}/{metric}/mean"].append(float(mean))
                    self.run[f"{stage}/{metric}/std"].append(float(std))
                else:
                    self.run[f"{stage}/{metric}"].append(float(values[-1]))
        rate = _learning_rate(model.cvfolds[0].bst if self._cv else model)
        if rate is not None:
            self.run["learning_rate"].append(rate)
        return False  # do not stop training

    def after_training(self, model: Any) -> Any:
        boosters = (
            [(f"fold_{i}/", fold.bst) for i, fold in enumerate(model.cvfolds)] if self._cv else [("", model)]
        )
        for prefix, booster in boosters:
            self.run[f"{prefix}booster_config"] = stringify_unsupported(json.loads(booster.save_config()))
            if self._log_importance:
                self.run[f"{prefix}plots/importance"] = _importance_chart(booster, self._max_num_features)
            if self._log_model:
                self.run[f"{prefix}pickled_model"] = File.as_pickle(booster)
        if not self._cv:
            attributes = model.attributes()
            if "best_score" in attributes:
                self.run["early_stopping/best_score"] = float(attributes["best_score"])
            if "best_iteration" in attributes:
                self.run["early_stopping/best_iteration"] = int(attributes["best_iteration"])
        return model


def _learning_rate(booster: Any) -> float | None:
    """The booster's learning rate (eta) from its config: XGBoost 2+ keeps it in ``tree_train_param``,
    older releases in the tree updater's ``train_param``."""
    config = json.loads(booster.save_config())["learner"]["gradient_booster"]
    rate = config.get("tree_train_param", {}).get("learning_rate")
    updaters = config.get("updater", {})
    for updater in updaters.values() if isinstance(updaters, dict) else updaters:
        rate = rate or (
            updater.get("train_param", {}).get("learning_rate") if isinstance(updater, dict) else None
        )
    return None if rate is None else float(rate)


def _importance_chart(booster: Any, max_num_features: int | None) -> File:
    import matplotlib.pyplot as plt

    ax = xgb.plot_importance(booster, max_num_features=max_num_features)
    try:
        return File.as_image(ax.figure)
    finally:
        plt.close(ax.figure)
