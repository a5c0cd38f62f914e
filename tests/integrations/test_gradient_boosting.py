"""LightGBM and XGBoost callbacks against the real libraries: train / cv series and summaries."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from integration_helpers import series

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def data(seed=0, n=120):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    return x, x[:, 0] * 2 - x[:, 1] + rng.normal(size=n) * 0.1


def test_lightgbm_train_logs_params_train_set_and_one_series_per_set_and_metric(run):
    lgb = pytest.importorskip("lightgbm")
    from neptune_sync.integrations.lightgbm import NeptuneCallback, create_booster_summary

    x, y = data()
    train, valid = lgb.Dataset(x[:80], y[:80]), lgb.Dataset(x[80:], y[80:])
    history = {}
    booster = lgb.train(
        {"objective": "regression", "metric": ["l2", "l1"], "verbose": -1, "learning_rate": 0.2},
        train,
        num_boost_round=4,
        valid_sets=[train, valid],
        valid_names=["train", "valid"],
        callbacks=[NeptuneCallback(run=run, base_namespace="lgb"), lgb.record_evaluation(history)],
    )
    for dataset in ("train", "valid"):
        for metric in ("l2", "l1"):
            assert series(run, f"lgb/{dataset}/{metric}") == [
                (float(i), pytest.approx(v)) for i, v in enumerate(history[dataset][metric])
            ]
    assert run["lgb/params/learning_rate"].fetch() == 0.2
    assert run["lgb/params/env/end_iteration"].fetch() == 4
    assert run["lgb/train_set/num_rows"].fetch() == 80
    assert run["lgb/train_set/num_features"].fetch() == 3
    assert run["lgb/feature_names"].fetch() == str(booster.feature_name())
    assert run["source_code/integrations/neptune-lightgbm"].fetch()

    run["summary"] = create_booster_summary(booster, log_trees_as_dataframe=True)
    tmp = run.run_path / "dl"
    model = pickle.loads(run["summary/pickled_model"].download(str(tmp / "m.pkl")).read_bytes())
    assert np.allclose(model.predict(x), booster.predict(x))
    csv = run["summary/trees_as_dataframe"].download(str(tmp / "t.csv")).read_text()
    assert csv.splitlines()[0].startswith("tree_index")
    for kind in ("split", "gain"):
        png = run[f"summary/visualizations/feature_importances/{kind}"].download(str(tmp / f"{kind}.png"))
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_lightgbm_cv_logs_mean_and_std_per_metric(run):
    lgb = pytest.importorskip("lightgbm")
    from neptune_sync.integrations.lightgbm import NeptuneCallback

    x, y = data()
    result = lgb.cv(
        {"objective": "regression", "metric": "l2", "verbose": -1},
        lgb.Dataset(x, y),
        num_boost_round=3,
        nfold=3,
        stratified=False,  # a regression target
        callbacks=[NeptuneCallback(run=run)],
    )
    assert [v for _, v in series(run, "valid/l2/val")] == pytest.approx(result["valid l2-mean"])
    assert [v for _, v in series(run, "valid/l2/std")] == pytest.approx(result["valid l2-stdv"])
    assert run["booster_0/train_set/num_features"].fetch() == 3


def test_xgboost_train_logs_epochs_metrics_config_and_model(run):
    xgb = pytest.importorskip("xgboost")
    from neptune_sync.integrations.xgboost import NeptuneCallback

    x, y = data()
    dtrain, dvalid = xgb.DMatrix(x[:80], y[:80]), xgb.DMatrix(x[80:], y[80:])
    history = {}
    booster = xgb.train(
        {"eta": 0.25, "max_depth": 2},
        dtrain,
        num_boost_round=4,
        evals=[(dtrain, "train"), (dvalid, "valid")],
        evals_result=history,
        early_stopping_rounds=10,
        verbose_eval=False,
        callbacks=[NeptuneCallback(run=run)],
    )
    assert [v for _, v in series(run, "training/epoch")] == [0.0, 1.0, 2.0, 3.0]
    assert [v for _, v in series(run, "training/valid/rmse")] == pytest.approx(history["valid"]["rmse"])
    assert [v for _, v in series(run, "training/learning_rate")] == pytest.approx([0.25] * 4)
    assert run["training/booster_config/learner/gradient_booster/tree_train_param/max_depth"].fetch() == "2"
    assert run["training/early_stopping/best_iteration"].fetch() == booster.best_iteration
    model = pickle.loads(run["training/pickled_model"].download(str(run.run_path / "m.pkl")).read_bytes())
    assert np.allclose(model.predict(dvalid), booster.predict(dvalid))
    assert run.exists("training/plots/importance")


def test_xgboost_cv_logs_mean_and_std_and_per_fold_models(run):
    xgb = pytest.importorskip("xgboost")
    from neptune_sync.integrations.xgboost import NeptuneCallback

    x, y = data()
    result = xgb.cv(
        {"max_depth": 2},
        xgb.DMatrix(x, y),
        num_boost_round=3,
        nfold=3,
        callbacks=[NeptuneCallback(run=run, log_importance=False)],
    )
    assert [v for _, v in series(run, "training/test/rmse/mean")] == pytest.approx(
        list(result["test-rmse-mean"])
    )
    assert [v for _, v in series(run, "training/test/rmse/std")] == pytest.approx(
        list(result["test-rmse-std"])
    )
    assert {f"fold_{i}" for i in range(3)} <= set(run.get_structure()["training"])
    assert run.exists("training/fold_2/pickled_model")
