"""The Keras callback against real Keras 3 (torch backend here: TensorFlow is not installed)."""

from __future__ import annotations

import os

import pytest

pytestmark = [
    pytest.mark.heavy,
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),  # Keras on numpy 2
]

os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is imported
keras = pytest.importorskip("keras")
np = pytest.importorskip("numpy")

from integration_helpers import series  # noqa: E402

from neptune_sync.integrations.tensorflow_keras import NeptuneCallback  # noqa: E402


def fit(run, **kw):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05), loss="mse", metrics=["mae"])
    history = model.fit(
        x,
        y,
        epochs=2,
        batch_size=8,
        validation_split=0.25,
        verbose=0,
        callbacks=[NeptuneCallback(run=run, **kw)],
    )
    return model, history.history


def test_fit_logs_epoch_metrics_validation_params_and_summary(run):
    model, history = fit(run)
    assert [v for _, v in series(run, "training/train/epoch/loss")] == pytest.approx(history["loss"])
    assert [v for _, v in series(run, "training/train/epoch/mae")] == pytest.approx(history["mae"])
    assert [v for _, v in series(run, "training/validation/epoch/loss")] == pytest.approx(history["val_loss"])
    assert not run.exists("training/train/epoch/val_loss")
    assert [v for _, v in series(run, "training/model/learning_rate")] == pytest.approx([0.05, 0.05])
    assert run["training/fit_params/epochs"].fetch() == 2
    assert run["training/model/optimizer_config/name"].fetch() == model.optimizer.get_config()["name"]
    summary = run["training/model/summary"].download(str(run.run_path / "s.txt")).read_text()
    assert "dense" in summary.lower()
    assert run["source_code/integrations/neptune-tensorflow-keras"].fetch()


def test_log_on_batch_logs_each_batch(run):
    fit(run, log_on_batch=True, base_namespace="k")
    assert len(series(run, "k/train/batch/loss")) == 2 * 3  # 24 training samples / batch 8, 2 epochs
