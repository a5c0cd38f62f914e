"""Warnings point at the user's line, and messages name types as a user would.

Each warning is caught with its filename and line and compared with the line of this file that
made the call, however deep in neptune_sync (or the ``neptune`` compat package) it was raised.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest

import neptune_sync as neptune
from neptune_sync import validation
from neptune_sync.exceptions import TypeConflictError, ValueRuleError
from neptune_sync.validation import NeptuneUnsupportedType, NeptuneWarning


@pytest.fixture
def run():
    run = neptune.init_run(mode="offline")
    yield run
    run.stop()


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch):
    monkeypatch.setattr(validation, "_last_warned", {})


def caught(call) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        call()
    return got


def line_of(marker: str) -> int:
    """The line of this file holding ``marker`` in a comment (the call under test)."""
    with open(__file__, encoding="utf-8") as f:
        return next(n for n, text in enumerate(f, 1) if text.rstrip().endswith(f"# {marker}"))


def test_an_unsupported_value_warns_at_the_users_line(run):
    def assign():
        run["x"] = object()  # unsupported-assign

    (w,) = caught(assign)
    assert w.category is NeptuneUnsupportedType
    assert (w.filename, w.lineno) == (__file__, line_of("unsupported-assign"))
    assert str(w.message).startswith("'x': an object is not a type Neptune stores")


def test_a_warning_from_deep_inside_a_namespace_assign_still_points_at_the_user(run):
    def assign():
        run["params"] = {"a": {"b": [1, 2]}, "c": None}  # nested-assign

    got = caught(assign)
    assert [(w.filename, w.lineno) for w in got] == [(__file__, line_of("nested-assign"))] * 2
    assert "'params/a/b': a list is not" in str(got[0].message)
    assert "'params/c': None is not" in str(got[1].message)


def user_helper(run):
    run["m"].append(None)  # user-helper


def test_the_warning_names_the_first_frame_outside_the_package(run):
    (w,) = caught(lambda: user_helper(run))
    assert (w.filename, w.lineno) == (__file__, line_of("user-helper"))


def test_a_run_made_through_the_compat_package_warns_at_the_users_line():
    neptune_compat = pytest.importorskip("neptune")
    if getattr(neptune_compat, "Run", None) is not neptune.Run:
        pytest.skip("the compat package is not installed")
    compat_run = neptune_compat.init_run(mode="offline")
    try:
        (w,) = caught(lambda: compat_run.assign({"x": object()}))  # compat-assign
        assert (w.filename, w.lineno) == (__file__, line_of("compat-assign"))
    finally:
        compat_run.stop()


def test_non_str_dict_keys_become_their_str_with_a_warning_at_the_users_line(run):
    def assign():
        run["params"] = {1: "a", "b": {2.5: 3}, "c": 4}  # int-keys

    got = caught(assign)
    assert all(w.category is NeptuneWarning for w in got)
    assert [(w.filename, w.lineno) for w in got] == [(__file__, line_of("int-keys"))] * 2
    assert "dict key 1 (an int) is logged at 'params/1'" in str(got[0].message)
    assert "dict key 2.5 (a float) is logged at 'params/b/2.5'" in str(got[1].message)
    assert run["params"].fetch() == {"1": "a", "b": {"2.5": 3}, "c": 4}


def test_non_str_keys_warn_on_append_extend_and_root_assign(run):
    got = caught(lambda: run["s"].append({0: 1.0}))
    got += caught(lambda: run["t"].extend({7: [1.0, 2.0]}))
    got += caught(lambda: run.assign({3: "root"}))
    assert [str(w.message).split(":")[0] for w in got] == [
        "dict key 0 (an int) is logged at 's/0'",
        "dict key 7 (an int) is logged at 't/7'",
        "dict key 3 (an int) is logged at '3'",
    ]
    assert {w.filename for w in got} == {__file__}
    assert (run["s/0"].fetch_last(), run["t/7"].fetch_last(), run["3"].fetch()) == (1.0, 2.0, "root")


def test_str_keys_do_not_warn(run):
    assert caught(lambda: run.assign({"a": 1, "b": {"c": 2.0}})) == []


def test_a_rule_warning_in_the_log_names_the_users_line(run, caplog):
    with caplog.at_level(logging.WARNING, "neptune_sync"):
        run["loss"].append(float("nan"))  # nan-append
    assert f"[rule: float-finite] (at {__file__}:{line_of('nan-append')})" in caplog.text


@pytest.mark.parametrize(
    "value, shape",
    [(np.array([1.0, 2.0, 3.0]), "(3,)"), (np.zeros((2, 3, 5)), "(2, 3, 5)"), (np.zeros((1, 1, 1, 1)), "(1, 1, 1, 1)")],
)
def test_an_array_that_is_not_an_image_appended_says_what_to_do(run, value, shape):
    seq = run._runlog.last_seq
    with pytest.raises(ValueRuleError) as raised:
        run["x"].append(value)
    message = str(raised.value)
    assert raised.value.rule == "append-array" and raised.value.path == "x"
    assert f"'x': an ndarray of shape {shape} is not one point: use extend()" in message
    assert "File.as_image" not in message
    assert run._runlog.last_seq == seq and not run.exists("x")
    run["x"].extend(value.ravel()[:3])  # the advice works
    assert run["x"].fetch_last() == float(value.ravel()[:3][-1])


def test_an_image_array_still_appends_as_a_file_series_item(run):
    pytest.importorskip("PIL")
    run["img"].append(np.zeros((4, 5, 3), dtype=np.uint8))
    assert run.get_structure()["img"] == "fileSeries"


@pytest.mark.parametrize(
    "first, second, words",
    [
        (1, 2.5, "'f' is an int field; cannot write a float field there"),
        (2.5, "s", "'f' is a float field; cannot write a string field there"),
        ("s", 1, "'f' is a string field; cannot write an int field there"),
    ],
)
def test_a_type_conflict_names_both_types_with_their_article(run, first, second, words):
    run["f"] = first
    with pytest.raises(TypeConflictError, match=words):
        run["f"] = second


def test_type_errors_name_the_type_with_its_article(run):
    with pytest.raises(ValueRuleError, match="step must be an int or float, not a str"):
        run["m"].append(1.0, step="3")
    with pytest.raises(ValueRuleError, match="string set items must be str, not an int"):
        run["sys/tags"].add([1])
    with pytest.raises(ValueRuleError, match="not None"):
        run["sys/tags"].add([None])

