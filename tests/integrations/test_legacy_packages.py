"""The old neptune integration packages, installed with ``--no-deps``, over the ``neptune`` compat package.

They import ``neptune`` (or ``neptune.new``) themselves: ``neptune.Run``, ``neptune.init_run``,
``neptune.handler.Handler``, ``neptune.types.File`` / ``FileSeries``, ``neptune.utils.stringify_unsupported``,
``neptune.integrations.utils.verify_type`` / ``expect_not_an_experiment`` and ``neptune.exceptions.NeptuneException``.
Each test skips, saying why, when the compat package, the legacy package or its framework is missing
(``make test-integrations`` installs the legacy packages).
"""

from __future__ import annotations

import os
import warnings

import pytest
from integration_helpers import PROJECT, series

pytestmark = pytest.mark.filterwarnings(
    "ignore::DeprecationWarning", "ignore::FutureWarning", "ignore::UserWarning"
)


def _scikit_plot(package):
    # scikit-plot 0.3.7, the last release, imports scipy.interp, which scipy 1.12 removed
    pytest.importorskip(
        "scikitplot",
        reason=f"{package} imports scikit-plot, which is missing or broken",
        exc_type=ImportError,
    )


@pytest.fixture
def neptune():
    return pytest.importorskip("neptune", reason="the neptune compat package is not installed")


@pytest.fixture
def legacy_run(neptune):
    run = neptune.init_run(project=PROJECT, mode="offline")
    yield run
    run.stop()


def test_neptune_optuna_callback_logs_trials_and_the_study(legacy_run):
    optuna = pytest.importorskip("optuna")
    neptune_optuna = pytest.importorskip("neptune_optuna", reason="pip install --no-deps neptune-optuna")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(
            lambda t: (t.suggest_float("x", -3, 3) - 1) ** 2,
            n_trials=4,
            callbacks=[neptune_optuna.NeptuneCallback(legacy_run)],
        )
    assert series(legacy_run, "trials/values") == [(float(t._trial_id), t.value) for t in study.trials]
    assert legacy_run["best/value"].fetch() == study.best_value
    assert legacy_run["best/params/x"].fetch() == study.best_params["x"]
    assert legacy_run["study/storage_type"].fetch() == "InMemoryStorage"
    assert legacy_run.exists("visualizations/plot_optimization_history")
    loaded = neptune_optuna.load_study_from_run(legacy_run)
    assert loaded.best_value == study.best_value


def test_neptune_lightgbm_callback_logs_the_eval_series(legacy_run):
    lgb = pytest.importorskip("lightgbm")
    _scikit_plot("neptune-lightgbm")
    neptune_lightgbm = pytest.importorskip(
        "neptune_lightgbm", reason="pip install --no-deps neptune-lightgbm"
    )
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    y = x[:, 0] * 2 + rng.normal(size=200) * 0.1
    data = lgb.Dataset(x, y)
    lgb.train(
        {"objective": "regression", "verbose": -1},
        data,
        num_boost_round=5,
        valid_sets=[data],
        valid_names=["train"],
        callbacks=[neptune_lightgbm.NeptuneCallback(run=legacy_run, base_namespace="lgb")],
    )
    assert [s for s, _ in series(legacy_run, "lgb/train/l2")] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert legacy_run["lgb/params/objective"].fetch() == "regression"


def test_neptune_sklearn_regressor_summary(legacy_run):
    pytest.importorskip("sklearn")
    _scikit_plot("neptune-sklearn")
    pytest.importorskip("yellowbrick", reason="neptune-sklearn imports yellowbrick")
    npt_utils = pytest.importorskip("neptune_sklearn", reason="pip install --no-deps neptune-sklearn")
    from sklearn.datasets import make_regression
    from sklearn.linear_model import LinearRegression

    x, y = make_regression(n_samples=60, n_features=3, random_state=0)
    model = LinearRegression().fit(x[:40], y[:40])
    legacy_run["summary"] = npt_utils.create_regressor_summary(model, x[:40], x[40:], y[:40], y[40:])
    assert legacy_run["summary/all_params/fit_intercept"].fetch() is True
    assert legacy_run["summary/test/scores/r2_score"].fetch() == pytest.approx(model.score(x[40:], y[40:]))


@pytest.mark.heavy
def test_neptune_tensorflow_keras_callback_logs_epoch_metrics(legacy_run):
    os.environ.setdefault("KERAS_BACKEND", "torch")  # Keras 3 on torch: TensorFlow is not needed
    keras = pytest.importorskip("keras")
    neptune_keras = pytest.importorskip(
        "neptune_tensorflow_keras", reason="pip install --no-deps neptune-tensorflow-keras"
    )
    import numpy as np

    x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(
        x, x.sum(axis=1), epochs=2, verbose=0, callbacks=[neptune_keras.NeptuneCallback(run=legacy_run)]
    )
    assert [v for _, v in series(legacy_run, "training/train/epoch/loss")] == pytest.approx(
        history.history["loss"]
    )
    assert legacy_run.exists("training/model/summary")
