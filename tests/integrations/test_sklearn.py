"""scikit-learn summaries against the real scikit-learn: what a summary puts in the run."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("pandas")

from sklearn.cluster import KMeans  # noqa: E402
from sklearn.datasets import make_classification, make_regression  # noqa: E402
from sklearn.ensemble import RandomForestRegressor  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import precision_recall_fscore_support, r2_score  # noqa: E402

from neptune_sync.integrations import sklearn as npt_sklearn  # noqa: E402


def download(run, path, name):
    return run[path].download(str(run.run_path / "dl" / name)).read_bytes()


def test_regressor_summary_holds_params_model_predictions_scores_and_charts(run):
    x, y = make_regression(n_samples=80, n_features=4, random_state=0)
    model = RandomForestRegressor(n_estimators=5, random_state=0).fit(x[:60], y[:60])
    run["rf/summary"] = npt_sklearn.create_regressor_summary(model, x[:60], x[60:], y[:60], y[60:], nrows=5)
    summary = run["rf/summary"]
    assert summary["all_params/n_estimators"].fetch() == 5
    assert summary["all_params/max_depth"].fetch() == "None"  # stringified, as neptune-sklearn
    assert summary["test/scores/r2_score"].fetch() == pytest.approx(r2_score(y[60:], model.predict(x[60:])))
    assert summary["test/scores/max_error"].fetch() > 0
    restored = pickle.loads(download(run, "rf/summary/pickled_model", "m.pkl"))
    assert np.allclose(restored.predict(x), model.predict(x))
    html = download(run, "rf/summary/test/preds", "p.html").decode()
    assert html.count("</tr>") == 1 + 5  # header and nrows rows
    charts = set(run.get_structure()["rf"]["summary"]["diagnostics_charts"])
    assert charts == {"prediction_error", "residuals", "feature_importance"}
    assert download(run, "rf/summary/diagnostics_charts/residuals", "r.png")[:4] == b"\x89PNG"
    assert summary["integration/about/neptune-sklearn"].fetch()


def test_classifier_summary_scores_each_class(run):
    x, y = make_classification(n_samples=90, n_features=5, random_state=1)
    model = LogisticRegression().fit(x[:60], y[:60])
    run["lr"] = npt_sklearn.create_classifier_summary(model, x[:60], x[60:], y[:60], y[60:])
    precision, recall, fbeta, support = precision_recall_fscore_support(y[60:], model.predict(x[60:]))
    for i in range(2):
        assert run[f"lr/test/scores/class_{i}"].fetch() == pytest.approx(
            {"precision": precision[i], "recall": recall[i], "fbeta_score": fbeta[i], "support": support[i]}
        )
    assert "preds_proba" in run.get_structure()["lr"]["test"]
    charts = set(run.get_structure()["lr"]["diagnostics_charts"])
    assert charts == {"confusion_matrix", "roc_auc", "precision_recall"}


def test_kmeans_summary_fits_and_logs_labels(run):
    x, _ = make_classification(n_samples=40, n_features=3, n_informative=2, n_redundant=0, random_state=2)
    model = KMeans(n_init=2, random_state=0)
    run["km"] = npt_sklearn.create_kmeans_summary(model, x, n_clusters=3)
    assert run["km/all_params/n_clusters"].fetch() == 3
    html = download(run, "km/cluster_labels", "c.html").decode()
    assert html.count("</tr>") == 1 + 40


def test_without_charts_no_chart_is_drawn(run):
    x, y = make_regression(n_samples=30, n_features=2, random_state=0)
    model = RandomForestRegressor(n_estimators=2).fit(x, y)
    run["s"] = npt_sklearn.create_regressor_summary(model, x, x, y, y, log_charts=False)
    assert "diagnostics_charts" not in run.get_structure()["s"]


@pytest.mark.parametrize("nrows", [0, "10", True])
def test_bad_nrows_names_the_argument(nrows):
    x, y = make_regression(n_samples=10, n_features=2, random_state=0)
    with pytest.raises(ValueError, match="nrows"):
        npt_sklearn.get_test_preds(RandomForestRegressor(n_estimators=2).fit(x, y), x, y, nrows=nrows)
