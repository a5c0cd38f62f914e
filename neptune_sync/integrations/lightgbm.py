"""LightGBM: ``NeptuneCallback`` for ``lgb.train`` / ``lgb.cv`` / the sklearn API, and ``create_booster_summary``.

Fields as neptune-lightgbm: ``params`` (with ``params/env/begin_iteration`` / ``end_iteration``),
``feature_names``, ``train_set/num_features`` / ``num_rows`` (per booster ``booster_<i>/...`` in
cv), and one series per evaluated set and metric, ``<set>/<metric>`` (cv: ``<set>/<metric>/val``
and ``/std``), stepped by iteration. Version key ``source_code/integrations/neptune-lightgbm``.
"""

from __future__ import annotations

import io
from typing import Any

import lightgbm as lgb

from ..handler import Handler
from ..run import Run
from ..types import File, stringify_unsupported
from .utils import client_version, expect_not_an_experiment, join_paths, root_of, verify_type

INTEGRATION_VERSION_KEY = "source_code/integrations/neptune-lightgbm"

__all__ = ["NeptuneCallback", "create_booster_summary"]


class NeptuneCallback:
    """A LightGBM callback (``callbacks=[NeptuneCallback(run=run)]``).

    Args:
        run: a run, or a namespace handler of one.
        base_namespace: namespace inside ``run`` for everything logged (default: the root).
    """

    def __init__(self, run: Run | Handler, base_namespace: str = "") -> None:
        expect_not_an_experiment(run)
        verify_type("run", run, (Run, Handler))
        verify_type("base_namespace", base_namespace, str)
        self._run = run
        self._base = base_namespace.strip("/")
        self._described = False
        root_of(run)[INTEGRATION_VERSION_KEY] = client_version()

    def _path(self, *parts: str) -> str:
        return join_paths(self._base, *parts)

    def __call__(self, env: Any) -> None:
        if not self._described:
            self._describe(env)
            self._described = True
        for row in env.evaluation_result_list:
            dataset, metric, value = row[0], row[1], row[2]
            if len(row) == 5:  # cv: mean and standard deviation over the folds
                self._run[self._path(dataset, metric, "val")].append(value, step=env.iteration)
                self._run[self._path(dataset, metric, "std")].append(row[4], step=env.iteration)
            else:
                self._run[self._path(dataset, metric)].append(value, step=env.iteration)

    def _describe(self, env: Any) -> None:
        self._run[self._path("params")] = stringify_unsupported(env.params)
        self._run[self._path("params/env/begin_iteration")] = env.begin_iteration
        self._run[self._path("params/env/end_iteration")] = env.end_iteration
        if isinstance(env.model, lgb.CVBooster):
            boosters = [(f"booster_{i}", b) for i, b in enumerate(env.model.boosters)]
        else:
            boosters = [("", env.model)]
        for prefix, booster in boosters:
            self._run[self._path(prefix, "feature_names")] = str(booster.feature_name())
            if booster.train_set is not None:
                self._run[self._path(prefix, "train_set/num_features")] = booster.train_set.num_feature()
                self._run[self._path(prefix, "train_set/num_rows")] = booster.train_set.num_data()


def create_booster_summary(
    booster: lgb.Booster | lgb.LGBMModel,
    log_importances: bool = True,
    max_num_features: int = 10,
    log_trees_as_dataframe: bool = False,
    log_pickled_booster: bool = True,
    log_confusion_matrix: bool = False,
    y_true: Any = None,
    y_pred: Any = None,
) -> dict[str, Any]:
    """A dict to assign to a namespace (``run["lgbm_summary"] = create_booster_summary(gbm)``).

    Holds ``visualizations/feature_importances/split`` and ``gain`` (PNG), ``trees_as_dataframe``
    (CSV, for an ``lgb.Booster``), ``pickled_model`` and ``visualizations/confusion_matrix`` (PNG,
    from ``y_true`` / ``y_pred``). Tree drawings (Graphviz) are not made.
    """
    import matplotlib.pyplot as plt

    summary: dict[str, Any] = {}
    if log_importances:
        for kind in ("split", "gain"):
            ax = lgb.plot_importance(
                booster,
                importance_type=kind,
                title=f"Feature importance ({kind})",
                max_num_features=max_num_features,
            )
            summary[f"visualizations/feature_importances/{kind}"] = File.as_image(ax.figure)
            plt.close(ax.figure)
    if log_trees_as_dataframe and isinstance(booster, lgb.Booster):
        buffer = io.StringIO()
        booster.trees_to_dataframe().to_csv(buffer, index=False)
        summary["trees_as_dataframe"] = File.from_content(buffer.getvalue(), extension="csv")
    if log_pickled_booster:
        summary["pickled_model"] = File.as_pickle(booster)
    if log_confusion_matrix:
        from sklearn.metrics import ConfusionMatrixDisplay

        display = ConfusionMatrixDisplay.from_predictions(y_true, y_pred)
        summary["visualizations/confusion_matrix"] = File.as_image(display.figure_)
        plt.close(display.figure_)
    return summary
