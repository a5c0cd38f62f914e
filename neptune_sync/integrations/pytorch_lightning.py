"""PyTorch Lightning ``NeptuneLogger`` for current Lightning releases (which no longer ship one).

Same constructor and fields as Lightning's own NeptuneLogger did with neptune 1.x: metrics as
series under ``<prefix>/...`` (default prefix ``training``), hyperparameters in
``<prefix>/hyperparams``, checkpoints in ``<prefix>/model/checkpoints/<name>`` with
``<prefix>/model/best_model_path`` and ``best_model_score``, the summary in
``<prefix>/model/summary`` and the Lightning version in
``source_code/integrations/pytorch-lightning``. Imports ``lightning`` (the ``lightning.pytorch``
Trainer) when this module is imported.
"""

from __future__ import annotations

import contextlib
import functools
import os
from argparse import Namespace
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import lightning.pytorch as pl
from lightning.fabric.utilities.logger import _add_prefix, _convert_params, _sanitize_callable_params
from lightning.pytorch.loggers.logger import Logger, rank_zero_experiment
from lightning.pytorch.utilities.model_summary import ModelSummary
from lightning.pytorch.utilities.rank_zero import rank_zero_only

from ..exceptions import InactiveRunError
from ..handler import Handler
from ..run import Run, init_run
from ..types import File, stringify_unsupported
from .utils import root_of, scalar, verify_type

INTEGRATION_VERSION_KEY = "source_code/integrations/pytorch-lightning"

__all__ = ["NeptuneLogger"]


def _ignore_stopped_run(method: Callable[..., Any]) -> Callable[..., Any]:
    """Logging to a run stopped elsewhere does nothing, as in neptune 1.x (InactiveRunException)."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with contextlib.suppress(InactiveRunError):
            return method(*args, **kwargs)

    return wrapper


class NeptuneLogger(Logger):
    """Log a Lightning training run to a neptune-sync run (``Trainer(logger=NeptuneLogger(...))``).

    Args:
        api_key: API token (default ``NEPTUNE_API_TOKEN``).
        project: ``workspace/project`` (default ``NEPTUNE_PROJECT``).
        name: the run's name.
        run: an existing run, or a namespace handler of one, to log to instead of creating a run.
        log_model_checkpoints: upload what ``ModelCheckpoint`` saves (default True).
        prefix: root namespace of everything logged (default ``"training"``).
        **neptune_run_kwargs: passed to ``init_run`` (``tags``, ``description``, ``mode``, ...).

    Raises:
        ValueError: ``run`` is given together with ``init_run`` arguments, or is not a run/handler.
    """

    LOGGER_JOIN_CHAR = "/"
    PARAMETERS_KEY = "hyperparams"
    ARTIFACTS_KEY = "artifacts"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        project: str | None = None,
        name: str | None = None,
        run: Run | Handler | None = None,
        log_model_checkpoints: bool | None = True,
        prefix: str = "training",
        **neptune_run_kwargs: Any,
    ) -> None:
        _check_arguments(api_key, project, name, run, neptune_run_kwargs)
        verify_type("prefix", prefix, str)
        super().__init__()
        self._log_model_checkpoints = log_model_checkpoints
        self._prefix = prefix
        self._run_name = name
        self._project_name = project
        self._api_key = api_key
        self._run_instance = run
        self._neptune_run_kwargs = neptune_run_kwargs
        self._run_short_id: str | None = None
        self._uploaded_models: set[str] = set()
        if run is not None:
            self._read_run_identity()
            root_of(run)[INTEGRATION_VERSION_KEY] = pl.__version__

    # ------------------------------------------------------------------ the run
    def _read_run_identity(self) -> None:
        root = root_of(self._run_instance)
        if root.exists("sys/id"):
            self._run_short_id = root["sys/id"].fetch()
            self._run_name = root["sys/name"].fetch()
        else:  # a project or a run without sys fields
            self._run_short_id = "OFFLINE"
            self._run_name = "offline-name"

    def _init_run_args(self) -> dict[str, Any]:
        args = dict(self._neptune_run_kwargs)
        if self._project_name is not None:
            args["project"] = self._project_name
        if self._api_key is not None:
            args["api_token"] = self._api_key
        if self._run_short_id is not None:
            args["with_id"] = self._run_short_id
        if self._run_name is not None:
            args["name"] = self._run_name
        return args

    @property
    @rank_zero_experiment
    def experiment(self) -> Run | Handler:
        """The run (or namespace handler) behind the logger, for anything beyond metrics and params."""
        return self.run

    @property
    @rank_zero_experiment
    def run(self) -> Run | Handler:
        if self._run_instance is None:
            self._run_instance = init_run(**self._init_run_args())
            self._read_run_identity()
            self._run_instance[INTEGRATION_VERSION_KEY] = pl.__version__
        return self._run_instance

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_run_instance"] = None  # a run does not pickle; the copy reopens it by id
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__ = state
        self._run_instance = init_run(**self._init_run_args())

    def _path(self, *keys: str) -> str:
        return self.LOGGER_JOIN_CHAR.join([self._prefix, *keys] if self._prefix else keys)

    # ------------------------------------------------------------------ Logger API
    @rank_zero_only
    @_ignore_stopped_run
    def log_hyperparams(self, params: dict[str, Any] | Namespace) -> None:
        """Log hyperparameters to ``<prefix>/hyperparams`` (nested dicts become namespaces)."""
        params = _sanitize_callable_params(_convert_params(params))
        self.run[self._path(self.PARAMETERS_KEY)] = stringify_unsupported(params)

    @rank_zero_only
    @_ignore_stopped_run
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Append each metric (a number or a one-element tensor) to the series ``<prefix>/<name>``."""
        if rank_zero_only.rank != 0:
            raise ValueError("run tried to log from global_rank != 0")
        for key, value in _add_prefix(metrics, self._prefix, self.LOGGER_JOIN_CHAR).items():
            self.run[key].append(scalar(value), step=step)

    @rank_zero_only
    @_ignore_stopped_run
    def finalize(self, status: str) -> None:
        """Record the training's end status in ``<prefix>/status`` (the run stays open, as in 1.x)."""
        if self._run_instance is None:
            return  # a process that never logged (e.g. the launcher of spawned workers)
        if status:
            self.run[self._path("status")] = status
        super().finalize(status)

    @property
    def save_dir(self) -> str | None:
        """Where Lightning puts checkpoints by default: ``./.neptune/<name>/<version>/checkpoints``."""
        return os.path.join(os.getcwd(), ".neptune")

    @rank_zero_only
    @_ignore_stopped_run
    def log_model_summary(self, model: pl.LightningModule, max_depth: int = -1) -> None:
        """Upload ``ModelSummary(model, max_depth)`` as text to ``<prefix>/model/summary``."""
        summary = str(ModelSummary(model=model, max_depth=max_depth))
        self.run[self._path("model/summary")] = File.from_content(summary, extension="txt")

    @rank_zero_only
    @_ignore_stopped_run
    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        """Upload the last, best-k and best checkpoints; delete uploads no longer among them."""
        if not self._log_model_checkpoints:
            return
        namespace = self._path("model/checkpoints")
        kept: set[str] = set()
        last = getattr(checkpoint_callback, "last_model_path", "")
        if last:
            kept.add(self._upload_checkpoint(namespace, last, checkpoint_callback))
        for path in getattr(checkpoint_callback, "best_k_models", {}):
            name = _model_name(path, checkpoint_callback)
            kept.add(name)
            if name not in self._uploaded_models:
                self._upload_checkpoint(namespace, path, checkpoint_callback)
                self._uploaded_models.add(name)
        best = getattr(checkpoint_callback, "best_model_path", "")
        if best:
            self.run[self._path("model/best_model_path")] = best
            kept.add(self._upload_checkpoint(namespace, best, checkpoint_callback))
        for stale in self._checkpoints_in_run(namespace) - kept:
            del self.run[f"{namespace}/{stale}"]
            self._uploaded_models.discard(stale)
        score = getattr(checkpoint_callback, "best_model_score", None)
        if score is not None and bool(score):
            self.run[self._path("model/best_model_score")] = scalar(score)

    def _upload_checkpoint(self, namespace: str, path: str, checkpoint_callback: Any) -> str:
        name = _model_name(path, checkpoint_callback)
        self.run[f"{namespace}/{name}"].upload(path)
        return name

    def _checkpoints_in_run(self, namespace: str) -> set[str]:
        """Checkpoint names already in the run under ``namespace`` (also from an earlier process)."""
        node: Any = root_of(self.run).get_structure()
        base = self.run._path if isinstance(self.run, Handler) else ""  # noqa: SLF001 - our own handler
        for key in filter(None, [*base.split("/"), *namespace.split("/")]):
            node = node.get(key) if isinstance(node, dict) else None
        return set(_leaf_paths(node)) if isinstance(node, dict) else set()

    @property
    def name(self) -> str | None:
        """The run's name (``sys/name``)."""
        return self._run_name

    @property
    def version(self) -> str | None:
        """The run's id (``sys/id``)."""
        return self._run_short_id


def _check_arguments(
    api_key: str | None, project: str | None, name: str | None, run: Any, run_kwargs: dict[str, Any]
) -> None:
    if run is not None and not isinstance(run, (Run, Handler)):
        raise ValueError("run must be a neptune_sync Run or a namespace Handler (run['path'])")
    if run is not None and (any(a is not None for a in (api_key, project, name)) or run_kwargs):
        raise ValueError(
            "when an existing run is passed, init_run() arguments (api_key, project, name, ...) cannot be"
        )


def _model_name(path: str, checkpoint_callback: Any) -> str:
    """The checkpoint's path relative to the callback's ``dirpath``, without extension, '/'-separated."""
    dirpath = getattr(checkpoint_callback, "dirpath", None)
    if not dirpath:
        return path.replace(os.sep, "/")
    path, dirpath = os.path.normpath(path), os.path.normpath(dirpath)
    if not path.startswith(dirpath + os.sep):
        raise ValueError(f"{path} was expected to start with {dirpath}.")
    stem, _ = os.path.splitext(path[len(dirpath) + 1 :])
    return stem.replace(os.sep, "/")


def _leaf_paths(node: dict[str, Any], base: str = "") -> Iterator[str]:
    for key, value in node.items():
        path = f"{base}/{key}" if base else key
        if isinstance(value, dict):
            yield from _leaf_paths(value, path)
        else:
            yield path
