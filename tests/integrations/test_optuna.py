"""Optuna integration against the real optuna: what lands in the run, field by field."""

from __future__ import annotations

import datetime as dt
import warnings

import pytest

optuna = pytest.importorskip("optuna")

from integration_helpers import series  # noqa: E402

from neptune_sync.exceptions import IntegrationArgumentError  # noqa: E402
from neptune_sync.integrations import optuna as npt_optuna  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)


def objective(trial):
    x = trial.suggest_float("x", -10, 10)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    return (x - 2) ** 2 + (1 if kind == "b" else 0)


def pruned_objective(trial):
    x = trial.suggest_float("x", -10, 10)
    for step in range(3):
        trial.report(x * x + step, step)
    if trial.number == 2:
        raise optuna.TrialPruned()
    return x * x


def study(direction="minimize", **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # optuna's experimental-feature warnings
        return optuna.create_study(direction=direction, sampler=optuna.samplers.RandomSampler(seed=7), **kw)


def optimize(s, fn, n, callbacks):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s.optimize(fn, n_trials=n, callbacks=callbacks)


def test_callback_logs_each_trial_the_best_trial_and_the_study(run):
    s = study()
    optimize(s, objective, 6, [npt_optuna.NeptuneCallback(run, plots_update_freq="never")])
    trials = s.trials
    assert series(run, "trials/values") == [(float(t._trial_id), t.value) for t in trials]
    assert series(run, "trials/params/x") == [(float(i), t.params["x"]) for i, t in enumerate(trials)]
    assert series(run, "trials/params/kind") == [(float(i), t.params["kind"]) for i, t in enumerate(trials)]
    assert [v for _, v in series(run, "trials/values|params")] == [
        f"value: {t.value}| params: {t.params}" for t in trials
    ]
    best = min(trials, key=lambda t: t.value)
    assert run["best/value"].fetch() == best.value
    assert run["best/params"].fetch() == best.params
    assert run["best/value|params"].fetch() == f"value: {best.value}| params: {best.params}"
    for t in trials:
        one = run[f"trials/trials/{t._trial_id}"].fetch()
        assert one["value"] == t.value
        assert one["params"] == t.params
        assert one["distributions"] == {k: str(d) for k, d in t.distributions.items()}
        assert one["duration"] == str(t.duration)
        for key in ("datetime_start", "datetime_complete"):  # read back in UTC, at least to the ms
            assert abs(one[key] - getattr(t, key).astimezone(dt.timezone.utc)) < dt.timedelta(milliseconds=1)
        assert "state" not in one  # complete trials carry no state field
    assert [v for _, v in series(run, "study/distributions/x")] == [str(t.distributions["x"]) for t in trials]
    assert run["study/study_name"].fetch() == s.study_name
    assert run["study/direction"].fetch() == "MINIMIZE"
    assert run["study/storage_type"].fetch() == "InMemoryStorage"
    assert run["source_code/integrations/neptune-optuna"].fetch()
    assert not run.exists("visualizations")
    loaded = npt_optuna.load_study_from_run(run)
    assert [t.value for t in loaded.trials] == [t.value for t in trials]


def test_pruned_trials_log_their_state_and_intermediate_values(run):
    s = study()
    optimize(s, pruned_objective, 4, [npt_optuna.NeptuneCallback(run, plots_update_freq="never")])
    pruned = s.trials[2]
    assert pruned.state == optuna.trial.TrialState.PRUNED
    one = run["trials/trials/2"].fetch()
    assert one["state"] == repr(optuna.trial.TrialState.PRUNED)
    assert one["value"] == pruned.value == pruned.intermediate_values[2]  # optuna: the last report
    assert one["intermediate_values"] == {str(k): v for k, v in pruned.intermediate_values.items()}
    assert "state" not in run["trials/trials/1"].fetch()


def test_a_failed_trial_logs_its_state_and_no_value(run):
    def flaky(trial):
        x = trial.suggest_float("x", -1, 1)
        if trial.number == 1:
            raise ArithmeticError("diverged")
        return x

    s = study()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s.optimize(flaky, n_trials=3, catch=(ArithmeticError,), callbacks=[npt_optuna.NeptuneCallback(run)])
    one = run["trials/trials/1"].fetch()
    assert one["state"] == repr(optuna.trial.TrialState.FAIL)
    assert "value" not in one
    assert [step for step, _ in series(run, "trials/values")] == [0.0, 2.0]
    assert series(run, "trials/values|params")[1] == (1.0, f"value: None| params: {s.trials[1].params}")


def test_plots_are_logged_as_html_when_plotly_is_installed(run):
    pytest.importorskip("plotly")
    s = study()
    optimize(
        s, pruned_objective, 4, [npt_optuna.NeptuneCallback(run, plots_update_freq=2, log_plot_edf=False)]
    )
    vis = run.get_structure()["visualizations"]
    assert set(vis) == {
        "plot_contour",
        "plot_parallel_coordinate",
        "plot_param_importances",
        "plot_slice",
        "plot_intermediate_values",
        "plot_optimization_history",
    }
    html = run["visualizations/plot_optimization_history"].download(str(run.run_path / "dl"))
    assert "plotly" in html.read_text()


def test_multi_objective_study_logs_values_per_target_name(run):
    s = study(directions=["minimize", "maximize"], direction=None)

    def two(trial):
        x = trial.suggest_float("x", 0, 1)
        return x, 1 - x

    optimize(
        s, two, 4, [npt_optuna.NeptuneCallback(run, plots_update_freq="never", target_names=["loss", "acc"])]
    )
    assert series(run, "trials/values/loss") == [(float(t._trial_id), t.values[0]) for t in s.trials]
    assert series(run, "trials/values/acc") == [(float(t._trial_id), t.values[1]) for t in s.trials]
    assert run["study/directions"].fetch() == "['MINIMIZE', 'MAXIMIZE']"
    for t in s.best_trials:
        assert run[f"best/trials/{t._trial_id}/values"].fetch() == {"loss": t.values[0], "acc": t.values[1]}


def test_log_study_metadata_under_a_namespace_logs_all_trials(run):
    s = study(direction="maximize")
    optimize(s, objective, 5, [])
    npt_optuna.log_study_metadata(s, run, base_namespace="hpo", log_plots=False)
    assert series(run, "hpo/trials/values") == [(float(t._trial_id), t.value) for t in s.trials]
    assert run["hpo/best/value"].fetch() == s.best_value
    assert run["hpo/best/params"].fetch() == s.best_params
    assert run["hpo/study/direction"].fetch() == "MAXIMIZE"
    for i, t in enumerate(s.trials):
        assert series(run, f"hpo/study/distributions/trial/{i}/x") == [(0.0, str(t.distributions["x"]))]
    assert not run.exists("hpo/visualizations")


def test_rdb_storage_logs_its_url_instead_of_a_pickle(run, tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    s = study(storage=url, study_name="rdb")
    optimize(s, objective, 2, [npt_optuna.NeptuneCallback(run, plots_update_freq="never")])
    assert run["study/storage_type"].fetch() == "RDBStorage"
    assert run["study/storage_url"].fetch() == url
    assert not run.exists("study/study")
    assert npt_optuna.load_study_from_run(run).best_value == s.best_value


@pytest.mark.parametrize(
    ("kwargs", "error", "needle"),
    [
        ({"plots_update_freq": 0}, ValueError, "plots_update_freq"),
        ({"study_update_freq": "sometimes"}, ValueError, "study_update_freq"),
        ({"visualization_backend": "bokeh"}, ValueError, "visualization_backend"),
        ({"log_plot_edf": "yes"}, IntegrationArgumentError, "log_plot_edf"),
        ({"target_names": "loss"}, IntegrationArgumentError, "target_names"),
    ],
)
def test_bad_arguments_name_the_argument(run, kwargs, error, needle):
    with pytest.raises(error, match=needle):
        npt_optuna.NeptuneCallback(run, **kwargs)


def test_a_non_run_is_refused_with_a_type_error():
    with pytest.raises(TypeError, match="run must be of type Run or Handler"):
        npt_optuna.NeptuneCallback({"not": "a run"})
