"""Keras: ``NeptuneCallback`` for ``model.fit`` (Keras 3 with any backend, or ``tf.keras``).

Fields as neptune-tensorflow-keras, under ``base_namespace`` (default ``training``):
``train/epoch/<metric>`` and ``validation/epoch/<metric>`` series (``.../batch/<metric>`` with
``log_on_batch``), ``fit_params``, ``model/optimizer_config``, ``model/learning_rate`` (a series,
one point per epoch) and ``model/summary`` (text). Model diagrams (pydot) are not made.
Version key ``source_code/integrations/neptune-tensorflow-keras``.
"""

from __future__ import annotations

import io
from typing import Any

try:
    import keras
except ImportError:  # TensorFlow before Keras 3 was its own package
    from tensorflow import keras

from ..handler import Handler
from ..run import Run
from ..types import File, stringify_unsupported
from .utils import client_version, expect_not_an_experiment, root_of, scalar, verify_type

INTEGRATION_VERSION_KEY = "source_code/integrations/neptune-tensorflow-keras"

__all__ = ["NeptuneCallback"]


class NeptuneCallback(keras.callbacks.Callback):
    """A Keras callback (``model.fit(..., callbacks=[NeptuneCallback(run=run)])``).

    Args:
        run: a run, or a namespace handler of one.
        base_namespace: namespace inside ``run`` (default ``"training"``).
        log_on_batch: also log the metrics after every batch.
        log_model_summary: upload ``model.summary()`` at the end of training.
    """

    def __init__(
        self,
        run: Run | Handler,
        base_namespace: str = "training",
        log_on_batch: bool = False,
        log_model_summary: bool = True,
    ) -> None:
        super().__init__()
        expect_not_an_experiment(run)
        verify_type("run", run, (Run, Handler))
        verify_type("base_namespace", base_namespace, str)
        verify_type("log_on_batch", log_on_batch, bool)
        verify_type("log_model_summary", log_model_summary, bool)
        self._ns = run[base_namespace.rstrip("/")] if base_namespace.strip("/") else run
        self._log_on_batch = log_on_batch
        self._log_model_summary = log_model_summary
        root_of(run)[INTEGRATION_VERSION_KEY] = client_version()

    def _log_metrics(self, logs: dict[str, Any] | None, category: str, trigger: str) -> None:
        for metric, value in (logs or {}).items():
            if metric in ("batch", "size") or metric.startswith("val_"):
                continue  # validation metrics come through on_test_end, without the prefix
            self._ns[f"{category}/{trigger}/{metric}"].append(scalar(value))

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._ns["model/optimizer_config"] = stringify_unsupported(self.model.optimizer.get_config())
        self._ns["fit_params"] = stringify_unsupported(dict(self.params))

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._ns["model/learning_rate"].append(scalar(self.model.optimizer.learning_rate))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._log_metrics(logs, "train", "epoch")

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self._log_on_batch:
            self._log_metrics(logs, "train", "batch")

    def on_test_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self._log_on_batch:
            self._log_metrics(logs, "validation", "batch")

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        self._log_metrics(logs, "validation", "epoch")

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._log_model_summary:
            lines = io.StringIO()
            self.model.summary(print_fn=lambda line, **_: lines.write(line + "\n"))
            self._ns["model/summary"] = File.from_content(lines.getvalue(), extension="txt")
