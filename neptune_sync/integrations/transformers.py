"""Hugging Face transformers ``NeptuneCallback`` (transformers deprecated its own).

Same constructor and fields as transformers' callback with neptune 1.x, under ``base_namespace``
(default ``finetuning``): ``trainer_parameters``, ``model_parameters``, ``trial`` /
``trial_params`` during a hyperparameter search, logged metrics as series (``train/loss``,
``eval/loss``, ...; ``train/epoch`` as a single value) and, with ``log_checkpoints``, the
checkpoint directories in the file set ``checkpoints`` (or ``checkpoints/last`` / ``checkpoints/best``).
``source_code/integrations/transformers`` holds the transformers version.

``report_to="neptune"``: transformers resolves it through its own registry to its deprecated
callback (which, with the ``neptune`` compatibility package installed, logs the same fields).
:func:`register_report_to` puts this callback in that registry instead; passing
``callbacks=[NeptuneCallback()]`` with ``report_to="none"`` needs no registry at all.
"""

from __future__ import annotations

import contextlib
import operator
import os
from typing import Any

import transformers
from transformers import TrainerCallback

from ..run import Run, init_run
from ..types import stringify_unsupported
from .utils import verify_type

__all__ = ["NeptuneCallback", "register_report_to"]

_CHECKPOINT_MODES = (None, "same", "last", "best")


class NeptuneCallback(TrainerCallback):
    """Send a Trainer's parameters, logs and (optionally) checkpoints to a run.

    Args:
        api_token, project, name: for the run this callback creates (``init_run`` defaults).
        base_namespace: root namespace of everything logged (default ``"finetuning"``).
        run: an existing run to log to (used for the first training; later trainings get new runs).
        log_parameters: log the Trainer arguments and the model config (default True).
        log_checkpoints: ``"same"`` uploads every saved checkpoint, ``"last"`` only the latest,
            ``"best"`` only the best (needs ``load_best_model_at_end``); None uploads none.
        **neptune_run_kwargs: more ``init_run`` arguments (``tags``, ``mode``, ...).

    Raises:
        IntegrationArgumentError (a TypeError) for an argument of the wrong type; ValueError for an
        unknown ``log_checkpoints`` value.
    """

    integration_version_key = "source_code/integrations/transformers"
    model_parameters_key = "model_parameters"
    trial_name_key = "trial"
    trial_params_key = "trial_params"
    trainer_parameters_key = "trainer_parameters"
    flat_metrics = frozenset({"train/epoch"})

    def __init__(
        self,
        *,
        api_token: str | None = None,
        project: str | None = None,
        name: str | None = None,
        base_namespace: str = "finetuning",
        run: Run | None = None,
        log_parameters: bool = True,
        log_checkpoints: str | None = None,
        **neptune_run_kwargs: Any,
    ) -> None:
        verify_type("api_token", api_token, (str, type(None)))
        verify_type("project", project, (str, type(None)))
        verify_type("name", name, (str, type(None)))
        verify_type("base_namespace", base_namespace, str)
        verify_type("run", run, (Run, type(None)))
        verify_type("log_parameters", log_parameters, bool)
        verify_type("log_checkpoints", log_checkpoints, (str, type(None)))
        if log_checkpoints not in _CHECKPOINT_MODES:
            raise ValueError(
                f"log_checkpoints must be 'same', 'last', 'best' or None, not {log_checkpoints!r}"
            )
        self._base_namespace_path = base_namespace
        self._log_parameters = log_parameters
        self._log_checkpoints = log_checkpoints
        self._initial_run = run
        self._init_run_kwargs = {
            "api_token": api_token,
            "project": project,
            "name": name,
            **neptune_run_kwargs,
        }
        self._run: Run | None = None
        self._run_id: str | None = None
        self._new_run_on_train = False  # set once a training has started: the next one gets a new run
        self._should_upload_checkpoint = log_checkpoints is not None
        self._recent_checkpoint_path: str | None = None
        self._replace_recent = log_checkpoints in ("last", "best")
        self._checkpoints_namespace = (
            f"checkpoints/{log_checkpoints}" if self._replace_recent else "checkpoints"
        )

    # ------------------------------------------------------------------ the run
    @property
    def run(self) -> Run:
        """The run being logged to: the one passed in, the current one, or the last one reopened."""
        if self._run is None:
            if self._initial_run is not None:
                self._use_initial_run()
            else:
                self._open_run(with_id=self._run_id)
        return self._run

    def _use_initial_run(self) -> None:
        self._run, self._initial_run = self._initial_run, None
        self._run_id = self._run["sys/id"].fetch()

    def _open_run(self, with_id: str | None = None) -> None:
        self._stop_run_if_exists()
        kwargs = {k: v for k, v in self._init_run_kwargs.items() if v is not None}
        self._run = init_run(with_id=with_id, **kwargs)
        self._run_id = self._run["sys/id"].fetch()

    def _stop_run_if_exists(self) -> None:
        if self._run is not None:
            self._run.stop()
            self._run = None

    @property
    def _metadata_namespace(self) -> Any:
        return self.run[self._base_namespace_path]

    @classmethod
    def get_run(cls, trainer: Any) -> Run:
        """The run of the ``NeptuneCallback`` among ``trainer``'s callbacks."""
        for callback in trainer.callback_handler.callbacks:
            if isinstance(callback, cls):
                return callback.run
        raise ValueError("The trainer doesn't have a NeptuneCallback configured.")

    # ------------------------------------------------------------------ trainer events
    def on_init_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._log_checkpoints == "best" and not args.load_best_model_at_end:
            raise ValueError(
                "To save the best model checkpoint, the load_best_model_at_end argument must be enabled."
            )

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        if self._initial_run is not None:
            self._use_initial_run()
        elif self._run is None or self._new_run_on_train:
            self._open_run()
        self._new_run_on_train = True
        self.run[self.integration_version_key] = transformers.__version__
        if self._log_parameters:
            self._metadata_namespace[self.trainer_parameters_key] = args.to_sanitized_dict()
            config = getattr(model, "config", None)
            if config is not None:
                self._metadata_namespace[self.model_parameters_key] = stringify_unsupported(config.to_dict())
        if state.is_hyper_param_search:
            if getattr(state, "trial_name", None) is not None:
                self._metadata_namespace[self.trial_name_key] = state.trial_name
            if getattr(state, "trial_params", None) is not None:
                self._metadata_namespace[self.trial_params_key] = stringify_unsupported(state.trial_params)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._stop_run_if_exists()

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if not state.is_world_process_zero or logs is None:
            return
        for name, value in _rewrite_logs(logs).items():
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            if name in self.flat_metrics:
                self._metadata_namespace[name] = value
            else:
                self._metadata_namespace[name].append(value, step=state.global_step)

    def on_evaluate(
        self, args: Any, state: Any, control: Any, metrics: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if self._log_checkpoints != "best" or not metrics:
            return
        name = args.metric_for_best_model
        name = name if name.startswith("eval_") else f"eval_{name}"
        better = operator.gt if args.greater_is_better else operator.lt
        value = metrics.get(name)
        self._should_upload_checkpoint = state.best_metric is None or (
            value is not None and better(value, state.best_metric)
        )

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not self._should_upload_checkpoint:
            return
        # the files are copied into the run now, so a checkpoint the Trainer rotates out later stays intact
        path = os.path.join(args.output_dir, f"checkpoint-{state.global_step}")
        checkpoints = self._metadata_namespace[self._checkpoints_namespace]
        checkpoints.upload_files(path)
        if self._replace_recent and self._recent_checkpoint_path is not None:
            checkpoints.delete_files(_relative_to_cwd(self._recent_checkpoint_path))
        self._recent_checkpoint_path = path

    def __del__(self) -> None:
        # at interpreter shutdown this may fail; the run's own atexit hook flushes it then
        with contextlib.suppress(Exception):
            self._stop_run_if_exists()


def register_report_to() -> None:
    """Make ``TrainingArguments(report_to="neptune")`` use this callback.

    transformers has no public registry API: this replaces the ``"neptune"`` entry of its
    ``INTEGRATION_TO_CALLBACK`` table, which ``Trainer`` reads when it is constructed.
    """
    from transformers.integrations import integration_utils

    integration_utils.INTEGRATION_TO_CALLBACK["neptune"] = NeptuneCallback


def _rewrite_logs(logs: dict[str, Any]) -> dict[str, Any]:
    """Trainer log keys as paths: ``eval_x`` -> ``eval/x``, ``test_x`` -> ``test/x``, else ``train/x``."""
    out = {}
    for key, value in logs.items():
        for prefix in ("eval", "test"):
            if key.startswith(prefix + "_"):
                out[f"{prefix}/{key[len(prefix) + 1 :]}"] = value
                break
        else:
            out[f"train/{key}"] = value
    return out


def _relative_to_cwd(path: str) -> str:
    """How ``upload_files`` named the files of ``path`` in the set (relative to cwd when under it)."""
    absolute = os.path.abspath(path)
    cwd = os.getcwd()
    return os.path.relpath(absolute, cwd) if absolute.startswith(cwd + os.sep) else os.path.basename(absolute)
