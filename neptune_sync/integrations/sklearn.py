"""scikit-learn: summaries of a fitted regressor, classifier or KMeans to assign to a namespace.

``run["rf/summary"] = create_regressor_summary(model, X_train, X_test, y_train, y_test)``.
Keys as neptune-sklearn: ``all_params``, ``pickled_model``, ``test/preds`` (HTML table),
``test/preds_proba``, ``test/scores/...``, ``cluster_labels``, ``integration/about/neptune-sklearn``
and PNG charts under ``diagnostics_charts/``, drawn with scikit-learn's own displays (no
yellowbrick): ``prediction_error``, ``residuals``, ``feature_importance``, ``confusion_matrix``,
``roc_auc`` and ``precision_recall`` (binary classifiers). Not made: ``learning_curve``,
``cooks_distance``, ``classification_report``, ``class_prediction_error``, ``kelbow``, ``silhouette``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import is_classifier, is_regressor
from sklearn.cluster import KMeans
from sklearn.metrics import (
    explained_variance_score,
    max_error,
    mean_absolute_error,
    precision_recall_fscore_support,
    r2_score,
)

from ..types import File, stringify_unsupported
from .utils import client_version

__all__ = [
    "create_classifier_summary",
    "create_kmeans_summary",
    "create_regressor_summary",
    "get_cluster_labels",
    "get_estimator_params",
    "get_pickled_model",
    "get_scores",
    "get_test_preds",
    "get_test_preds_proba",
]


def create_regressor_summary(
    regressor: Any,
    X_train: Any,
    X_test: Any,
    y_train: Any,
    y_test: Any,
    nrows: int = 1000,
    log_charts: bool = True,
) -> dict[str, Any]:
    """Parameters, pickled model, test predictions and scores (and charts) of a fitted regressor."""
    y_pred = regressor.predict(X_test)
    summary = _common(regressor)
    summary["test"] = {
        "preds": get_test_preds(regressor, X_test, y_test, y_pred=y_pred, nrows=nrows),
        "scores": get_scores(regressor, X_test, y_test, y_pred=y_pred),
    }
    if log_charts:
        summary.update(_charts(_regressor_charts(regressor, X_train, y_test, y_pred)))
    return summary


def create_classifier_summary(
    classifier: Any,
    X_train: Any,
    X_test: Any,
    y_train: Any,
    y_test: Any,
    nrows: int = 1000,
    log_charts: bool = True,
) -> dict[str, Any]:
    """Parameters, pickled model, test predictions, probabilities and scores (and charts) of a classifier."""
    y_pred = classifier.predict(X_test)
    summary = _common(classifier)
    test = {
        "preds": get_test_preds(classifier, X_test, y_test, y_pred=y_pred, nrows=nrows),
        "scores": get_scores(classifier, X_test, y_test, y_pred=y_pred),
    }
    proba = get_test_preds_proba(classifier, X_test, nrows=nrows)
    if proba is not None:
        test["preds_proba"] = proba
    summary["test"] = test
    if log_charts:
        summary.update(_charts(_classifier_charts(classifier, X_test, y_test, y_pred)))
    return summary


def create_kmeans_summary(model: KMeans, X: Any, nrows: int = 1000, **kwargs: Any) -> dict[str, Any]:
    """Parameters, pickled model and cluster labels of a KMeans model (fitted here on ``X``)."""
    labels = get_cluster_labels(model, X, nrows=nrows, **kwargs)
    summary = _common(model)
    summary["cluster_labels"] = labels
    return summary


def get_estimator_params(estimator: Any) -> dict[str, Any]:
    """``estimator.get_params()``."""
    return estimator.get_params()


def get_pickled_model(estimator: Any) -> File:
    """The estimator as a pickle file."""
    return File.as_pickle(estimator)


def get_test_preds(estimator: Any, X_test: Any, y_test: Any, y_pred: Any = None, nrows: int = 1000) -> File:
    """An HTML table of the first ``nrows`` true and predicted values (one column pair per output)."""
    import pandas as pd

    _check_nrows(nrows)
    y_pred = np.asarray(estimator.predict(X_test) if y_pred is None else y_pred)
    y_test = np.asarray(y_test)
    if y_pred.ndim == 1:
        frame = pd.DataFrame({"y_true": y_test, "y_pred": y_pred})
    else:
        columns = {}
        for j in range(y_pred.shape[1]):
            columns[f"y_test_output_{j}"] = y_test[:, j]
            columns[f"y_pred_output_{j}"] = y_pred[:, j]
        frame = pd.DataFrame(columns)
    return File.as_html(frame.head(nrows))


def get_test_preds_proba(
    classifier: Any, X_test: Any = None, y_pred_proba: Any = None, nrows: int = 1000
) -> File | None:
    """An HTML table of predicted class probabilities (None when the classifier has none)."""
    import pandas as pd

    _check_nrows(nrows)
    if (X_test is None) == (y_pred_proba is None):
        raise ValueError("pass exactly one of X_test and y_pred_proba")
    if y_pred_proba is None:
        if not hasattr(classifier, "predict_proba"):
            return None
        y_pred_proba = classifier.predict_proba(X_test)
    return File.as_html(pd.DataFrame(y_pred_proba, columns=classifier.classes_).head(nrows))


def get_scores(estimator: Any, X: Any, y: Any, y_pred: Any = None) -> dict[str, Any]:
    """Regressors: explained variance, max error, MAE, R² (multi-output: R² only);
    classifiers: precision, recall, F-score and support per class, as ``class_<i>/...``."""
    if not (is_regressor(estimator) or is_classifier(estimator)):
        raise ValueError("get_scores needs a scikit-learn regressor or classifier")
    y_pred = np.asarray(estimator.predict(X) if y_pred is None else y_pred)
    if is_regressor(estimator):
        if y_pred.ndim == 2:
            return {"r2_score": float(estimator.score(X, y))}
        return {
            "explained_variance_score": float(explained_variance_score(y, y_pred)),
            "max_error": float(max_error(y, y_pred)),
            "mean_absolute_error": float(mean_absolute_error(y, y_pred)),
            "r2_score": float(r2_score(y, y_pred)),
        }
    precision, recall, fbeta, support = precision_recall_fscore_support(y, y_pred)
    return {
        f"class_{i}": {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "fbeta_score": float(fbeta[i]),
            "support": int(support[i]),
        }
        for i in range(len(precision))
    }


def get_cluster_labels(model: KMeans, X: Any, nrows: int = 1000, **kwargs: Any) -> File:
    """Fit ``model`` (with ``kwargs`` as parameters) on ``X``; an HTML table of the first ``nrows`` labels."""
    import pandas as pd

    if not isinstance(model, KMeans):
        raise ValueError("get_cluster_labels needs a sklearn.cluster.KMeans model")
    _check_nrows(nrows)
    labels = model.set_params(**kwargs).fit_predict(X)
    return File.as_html(pd.DataFrame({"cluster_labels": labels}).head(nrows))


def _common(estimator: Any) -> dict[str, Any]:
    return {
        "all_params": stringify_unsupported(get_estimator_params(estimator)),
        "pickled_model": get_pickled_model(estimator),
        "integration/about/neptune-sklearn": client_version(),
    }


def _check_nrows(nrows: int) -> None:
    if not isinstance(nrows, int) or isinstance(nrows, bool) or nrows < 1:
        raise ValueError(f"nrows must be a positive int, not {nrows!r}")


# ---------------------------------------------------------------------------- charts
def _regressor_charts(regressor: Any, X_train: Any, y_test: Any, y_pred: Any) -> dict[str, Callable[[], Any]]:
    from sklearn.metrics import PredictionErrorDisplay

    charts = {
        "prediction_error": lambda: (
            PredictionErrorDisplay.from_predictions(y_test, y_pred, kind="actual_vs_predicted").figure_
        ),
        "residuals": lambda: (
            PredictionErrorDisplay.from_predictions(y_test, y_pred, kind="residual_vs_predicted").figure_
        ),
    }
    importance = getattr(regressor, "feature_importances_", getattr(regressor, "coef_", None))
    if importance is not None and np.ndim(importance) == 1:
        charts["feature_importance"] = lambda: _bar_chart(importance, "Feature importance")
    return charts


def _classifier_charts(
    classifier: Any, X_test: Any, y_test: Any, y_pred: Any
) -> dict[str, Callable[[], Any]]:
    from sklearn.metrics import ConfusionMatrixDisplay, PrecisionRecallDisplay, RocCurveDisplay

    charts = {"confusion_matrix": lambda: ConfusionMatrixDisplay.from_predictions(y_test, y_pred).figure_}
    if len(classifier.classes_) == 2 and hasattr(classifier, "predict_proba"):
        charts["roc_auc"] = lambda: RocCurveDisplay.from_estimator(classifier, X_test, y_test).figure_
        charts["precision_recall"] = lambda: (
            PrecisionRecallDisplay.from_estimator(classifier, X_test, y_test).figure_
        )
    return charts


def _bar_chart(values: Any, title: str) -> Any:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.bar(range(len(values)), values)
    ax.set_title(title)
    ax.set_xlabel("feature")
    return fig


def _charts(makers: dict[str, Callable[[], Any]]) -> dict[str, File]:
    """Draw each chart into a PNG under ``diagnostics_charts/``, closing its figure."""
    import matplotlib.pyplot as plt

    out = {}
    for name, make in makers.items():
        figure = make()
        try:
            out[f"diagnostics_charts/{name}"] = File.as_image(figure)
        finally:
            plt.close(figure)
    return out
