"""Optuna: ``NeptuneCallback`` logs each finished trial; ``log_study_metadata`` logs a whole study.

Field layout as neptune-optuna 1.x (see docs/integrations.md): ``trials/...`` per trial and as
series over trials, ``best/...`` for the best trial(s), ``study/...`` for the study itself and
``visualizations/...`` for optuna's plots (HTML; only when plotly, or matplotlib for that
backend, is installed). ``load_study_from_run`` gets the study back.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import pickle
import tempfile
from collections.abc import Iterable
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from ..handler import Handler
from ..run import Run
from ..types import File, stringify_unsupported
from .utils import client_version, expect_not_an_experiment, namespace, root_of, verify_type

INTEGRATION_VERSION_KEY = "source_code/integrations/neptune-optuna"

__all__ = ["NeptuneCallback", "load_study_from_run", "log_study_metadata"]


class NeptuneCallback:
    """An Optuna study callback (``study.optimize(..., callbacks=[NeptuneCallback(run)])``).

    Args:
        run: a run, or a namespace handler of one.
        base_namespace: namespace inside ``run`` for everything logged.
        plots_update_freq: log the plots every k-th trial (by trial id), or ``"never"``.
        study_update_freq: log the study (pickle or storage URL) every k-th trial, or ``"never"``.
        visualization_backend: ``"plotly"`` (default) or ``"matplotlib"``.
        log_plot_*: switch single plots off (``log_plot_contour``, ``log_plot_edf``, ...).
        target_names: names of the objectives (default ``objective_value``, or
            ``objective_0``, ``objective_1``, ... for a multi-objective study).
    """

    def __init__(
        self,
        run: Run | Handler,
        base_namespace: str = "",
        plots_update_freq: int | str = 1,
        study_update_freq: int | str = 1,
        visualization_backend: str = "plotly",
        log_plot_contour: bool = True,
        log_plot_edf: bool = True,
        log_plot_parallel_coordinate: bool = True,
        log_plot_param_importances: bool = True,
        log_plot_pareto_front: bool = True,
        log_plot_slice: bool = True,
        log_plot_intermediate_values: bool = True,
        log_plot_optimization_history: bool = True,
        target_names: list[str] | None = None,
    ) -> None:
        expect_not_an_experiment(run)
        verify_type("run", run, (Run, Handler))
        verify_type("base_namespace", base_namespace, str)
        verify_type("plots_update_freq", plots_update_freq, (int, str))
        verify_type("study_update_freq", study_update_freq, (int, str))
        _check_freq("plots_update_freq", plots_update_freq)
        _check_freq("study_update_freq", study_update_freq)
        _check_backend(visualization_backend)
        verify_type("target_names", target_names, (list, type(None)))
        self._plots = _enabled_plots(
            contour=log_plot_contour,
            edf=log_plot_edf,
            parallel_coordinate=log_plot_parallel_coordinate,
            param_importances=log_plot_param_importances,
            pareto_front=log_plot_pareto_front,
            slice=log_plot_slice,
            intermediate_values=log_plot_intermediate_values,
            optimization_history=log_plot_optimization_history,
        )
        self.run = namespace(run, base_namespace)
        self._backend = visualization_backend
        self._plots_freq = plots_update_freq
        self._study_freq = study_update_freq
        self._target_names = target_names
        self._names: list[str] | str | None = None
        root_of(run)[INTEGRATION_VERSION_KEY] = client_version()

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if self._names is None:
            self._names = objective_names(study, self._target_names)
        _log_trial(self.run, study, trial, self._names)
        self.run["study/distributions"].append(stringify_unsupported(trial.distributions))
        _log_best(self.run, study, self._names)
        if trial._trial_id == 0:
            _log_study_details(self.run, study)
        has_complete = bool(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
        if has_complete and _due(self._plots_freq, trial):
            _log_plots(self.run, study, self._backend, self._plots, self._names)
        if _due(self._study_freq, trial):
            _log_study(self.run, study)


def log_study_metadata(
    study: optuna.Study,
    run: Run | Handler,
    base_namespace: str = "",
    log_plots: bool = True,
    log_study: bool = True,
    log_all_trials: bool = True,
    log_distributions: bool = True,
    visualization_backend: str = "plotly",
    log_plot_contour: bool = True,
    log_plot_edf: bool = True,
    log_plot_parallel_coordinate: bool = True,
    log_plot_param_importances: bool = True,
    log_plot_pareto_front: bool = True,
    log_plot_slice: bool = True,
    log_plot_intermediate_values: bool = True,
    log_plot_optimization_history: bool = True,
    target_names: list[str] | None = None,
) -> None:
    """Log a finished (or running) study at once: best trial(s), every trial, distributions, plots, study.

    Arguments as :class:`NeptuneCallback`, plus switches for each part.
    """
    expect_not_an_experiment(run)
    verify_type("run", run, (Run, Handler))
    _check_backend(visualization_backend)
    handle = namespace(run, base_namespace)
    names = objective_names(study, target_names)
    _log_best(handle, study, names)
    _log_study_details(handle, study)
    if log_all_trials:
        for trial in study.trials:
            _log_trial(handle, study, trial, names)
    if log_distributions:
        for i, trial in enumerate(study.trials):
            handle[f"study/distributions/trial/{i}"].append(stringify_unsupported(trial.distributions))
    if log_plots:
        plots = _enabled_plots(
            contour=log_plot_contour,
            edf=log_plot_edf,
            parallel_coordinate=log_plot_parallel_coordinate,
            param_importances=log_plot_param_importances,
            pareto_front=log_plot_pareto_front,
            slice=log_plot_slice,
            intermediate_values=log_plot_intermediate_values,
            optimization_history=log_plot_optimization_history,
        )
        _log_plots(handle, study, visualization_backend, plots, names)
    if log_study:
        _log_study(handle, study)


def load_study_from_run(run: Run | Any) -> optuna.Study:
    """The study logged to ``run``: unpickled (in-memory storage) or loaded from its storage URL."""
    if run["study/storage_type"].fetch() == "InMemoryStorage":
        with tempfile.TemporaryDirectory() as tmp:
            path = run["study/study"].download(destination=tmp)
            target = path if os.path.isfile(path) else os.path.join(tmp, os.listdir(tmp)[0])
            with open(target, "rb") as fh:
                return pickle.load(fh)  # noqa: S301 - the run's own pickle, written by _log_study
    return optuna.load_study(
        study_name=run["study/study_name"].fetch(), storage=run["study/storage_url"].fetch()
    )


def objective_names(study: optuna.Study, target_names: list[str] | None) -> list[str] | str:
    """A list of names for a multi-objective study, one name otherwise."""
    count = len(study.directions)
    if target_names is not None and len(target_names) != count:
        raise ValueError(f"target_names has {len(target_names)} names but the study has {count} objective(s)")
    if count > 1:
        return list(target_names) if target_names else [f"objective_{i}" for i in range(count)]
    return target_names[0] if target_names else "objective_value"


# ---------------------------------------------------------------------------- trials
def _log_best(run: Any, study: optuna.Study, names: list[str] | str) -> None:
    if isinstance(names, list):
        for trial in study.best_trials:
            _log_trial(run, study, trial, names, best=True)
        return
    with contextlib.suppress(ValueError):  # no complete trial yet
        _log_trial(run, study, study.best_trial, names, best=True)


def _log_trial(run: Any, study: optuna.Study, trial: FrozenTrial, names: Any, best: bool = False) -> None:
    handle = run["best" if best else "trials"]
    one = handle[f"trials/{trial._trial_id}"]
    _assign(one, "datetime_start", trial.datetime_start)
    _assign(one, "datetime_complete", trial.datetime_complete)
    _assign(one, "duration", trial.duration)
    _assign(one, "distributions", trial.distributions)
    _assign(one, "intermediate_values", trial.intermediate_values)
    _assign(one, "params", trial.params)
    step = trial._trial_id
    if isinstance(names, list):
        values = dict(zip(names, trial.values or (), strict=False))
        for name, value in values.items():
            one[f"values/{name}"] = value
        if best:
            _assign(handle, "params", trial.params)
            for name, value in values.items():
                handle[f"values/{name}"] = value
        else:
            handle["params"].append(stringify_unsupported(trial.params))
            for name, value in values.items():
                handle[f"values/{name}"].append(value, step=step)
    else:
        _assign(one, "value", trial.value)
        if best:
            handle["value"] = trial.value
            _assign(handle, "params", trial.params)
            handle["value|params"] = f"value: {trial.value}| params: {trial.params}"
        else:
            if trial.value is not None:
                handle["values"].append(trial.value, step=step)
            handle["params"].append(stringify_unsupported(trial.params))
            handle["values|params"].append(f"value: {trial.value}| params: {trial.params}")
    if trial.state.is_finished() and trial.state != TrialState.COMPLETE:
        one["state"] = repr(trial.state)


def _assign(handle: Any, path: str, value: Any) -> None:
    """Assign what neptune can hold; None (a trial not finished yet) and empty dicts log nothing."""
    if value is None:
        return
    if isinstance(value, dict):
        value = {str(k): v for k, v in value.items()}
    handle[path] = value if isinstance(value, _dt.datetime) else stringify_unsupported(value)


# ---------------------------------------------------------------------------- study
def _log_study_details(run: Any, study: optuna.Study) -> None:
    run["study/study_name"] = study.study_name
    if len(study.directions) > 1:
        run["study/directions"] = str([d.name for d in study.directions])
    else:
        run["study/direction"] = study.direction.name
    _assign(run, "study/user_attrs", study.user_attrs)
    with contextlib.suppress(AttributeError):
        run["study/_study_id"] = study._study_id
        run["study/_storage"] = stringify_unsupported(study._storage)


def _log_study(run: Any, study: optuna.Study) -> None:
    storage = getattr(study, "_storage", None)
    run["study/study_name"] = study.study_name
    if isinstance(storage, optuna.storages.InMemoryStorage):
        run["study/storage_type"] = "InMemoryStorage"
        run["study/study"] = File.as_pickle(study)
        return
    kind, url = _storage_location(storage)
    run["study/storage_type"] = kind
    run["study/storage_url"] = url


def _storage_location(storage: Any) -> tuple[str, str]:
    backend = getattr(storage, "_backend", storage)  # _CachedStorage wraps an RDBStorage
    if isinstance(backend, optuna.storages.RDBStorage):
        return "RDBStorage", str(backend.url)
    return "unknown storage type", "unknown storage url"


# ---------------------------------------------------------------------------- plots
def _log_plots(run: Any, study: optuna.Study, backend: str, plots: Iterable[str], names: Any) -> None:
    vis = _visualization(backend)
    if vis is None:
        return
    plots = frozenset(plots)
    handle = run["visualizations"]
    multi = isinstance(names, list)
    has_params = any(t.params for t in study.trials)
    finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
    for i in range(len(study.directions)):
        target = (lambda t, i=i: t.values[i]) if multi else None
        target_name = names[i] if multi else names
        where = handle[names[i]] if multi else handle
        kw = {"target": target, "target_name": target_name}
        if "contour" in plots and has_params:
            where["plot_contour"] = _html(vis.plot_contour(study, **kw))
        if "edf" in plots:
            where["plot_edf"] = _html(vis.plot_edf(study, **kw))
        if "parallel_coordinate" in plots:
            where["plot_parallel_coordinate"] = _html(vis.plot_parallel_coordinate(study, **kw))
        if "param_importances" in plots and len(finished) > 1:
            with contextlib.suppress(RuntimeError, ValueError, ZeroDivisionError):
                where["plot_param_importances"] = _html(vis.plot_param_importances(study, **kw))
        if "slice" in plots and has_params:
            where["plot_slice"] = _html(vis.plot_slice(study, **kw))
        if "intermediate_values" in plots and not multi and any(t.intermediate_values for t in study.trials):
            where["plot_intermediate_values"] = _html(vis.plot_intermediate_values(study))
        if "optimization_history" in plots:
            where["plot_optimization_history"] = _html(vis.plot_optimization_history(study, **kw))
    if "pareto_front" in plots and multi and backend == "plotly":
        handle["plot_pareto_front"] = _html(vis.plot_pareto_front(study, target_names=names))


def _visualization(backend: str) -> Any:
    """optuna's plotting module for ``backend``, or None when its library is not installed."""
    if backend == "matplotlib":
        import optuna.visualization.matplotlib as vis
    else:
        import optuna.visualization as vis
    return vis if vis.is_available() else None


def _html(plot: Any) -> File:
    """A plotly figure (plotly.js from its CDN, as neptune 1.x) or matplotlib axes as an HTML file."""
    if hasattr(plot, "to_html"):
        return File.as_html(plot.to_html(include_plotlyjs="cdn", full_html=True))
    axes = plot.flat[0] if hasattr(plot, "flat") else plot
    figure = axes.get_figure()
    try:
        return File.as_html(figure)
    finally:
        import matplotlib.pyplot as plt

        plt.close(figure)


# ---------------------------------------------------------------------------- arguments
def _due(freq: int | str, trial: FrozenTrial) -> bool:
    return freq != "never" and trial._trial_id % int(freq) == 0


def _check_freq(name: str, freq: int | str) -> None:
    if freq == "never" or (isinstance(freq, int) and not isinstance(freq, bool) and freq > 0):
        return
    raise ValueError(f"{name} must be a positive int or 'never', not {freq!r}")


def _enabled_plots(**switches: bool | None) -> frozenset[str]:
    for name, on in switches.items():
        verify_type(f"log_plot_{name}", on, (bool, type(None)))
    return frozenset(name for name, on in switches.items() if on)


def _check_backend(backend: str) -> None:
    if backend not in ("plotly", "matplotlib"):
        raise ValueError(f"visualization_backend must be 'plotly' or 'matplotlib', not {backend!r}")
