"""Type, path, limit and value rules: each error or warning names the field and the rule."""

from __future__ import annotations

import datetime as dt
import enum
import logging
import math

import pytest
from client_helpers import rows

import neptune_sync as neptune
from neptune_sync import rules, validation
from neptune_sync.exceptions import (
    FieldLimitExceededError,
    InvalidPathError,
    MetadataInconsistency,
    TypeConflictError,
    ValueRuleError,
)


@pytest.fixture
def run():
    run = neptune.init_run(mode="offline")
    yield run
    run.stop()


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch):
    monkeypatch.setattr(validation, "_last_warned", {})


def ops_logged(run) -> int:
    return run._runlog.last_seq


@pytest.mark.parametrize(
    "first, second, existing, attempted",
    [
        (lambda h: h.assign(1.5), lambda h: h.append(1.0), "float", "floatSeries"),
        (lambda h: h.append(1.0), lambda h: h.assign(2.0), "floatSeries", "float"),
        (lambda h: h.append(1.0), lambda h: h.append("text"), "floatSeries", "stringSeries"),
        (lambda h: h.assign("s"), lambda h: h.assign(3), "string", "int"),
        (lambda h: h.assign(3), lambda h: h.assign("s"), "int", "string"),
        (lambda h: h.assign(True), lambda h: h.assign(1), "bool", "int"),
        (lambda h: h.add("tag"), lambda h: h.assign("tag"), "stringSet", "string"),
        (lambda h: h.assign(1), lambda h: h.upload(neptune.File.from_content("x")), "int", "file"),
    ],
)
def test_type_conflict_names_path_existing_and_attempted_and_logs_nothing(
    run, first, second, existing, attempted
):
    first(run["f"])
    before = ops_logged(run)
    with pytest.raises(TypeConflictError) as info:
        second(run["f"])
    message = str(info.value)
    article = {"int": "an", "artifact": "an"}
    assert f"'f' is {article.get(existing, 'a')} {existing} field;" in message
    assert f"cannot write {article.get(attempted, 'a')} {attempted} field" in message
    assert (info.value.path, info.value.existing, info.value.attempted) == ("f", existing, attempted)
    assert ops_logged(run) == before
    assert isinstance(info.value, MetadataInconsistency)  # neptune 1.x name still catches it


def test_int_to_float_field_is_stored_as_float(run):
    run["lr"] = 0.5
    run["lr"] = 1
    assert run["lr"].fetch() == 1.0 and type(run["lr"].fetch()) is float


def test_field_and_namespace_cannot_share_a_path(run):
    run["a"] = 1
    with pytest.raises(TypeConflictError, match="'a' is an int field; cannot write a namespace"):
        run["a/b"] = 2
    run["ns/x"] = 1
    with pytest.raises(TypeConflictError, match="'ns' is a namespace;"):
        run["ns"] = 3


@pytest.mark.parametrize(
    "path, rule",
    [
        ("", "path-empty"),
        ("a//b", "path-segment"),
        ("/a", "path-segment"),
        ("a/", "path-segment"),
        ("x" * 1025, "path-length"),
    ],
)
def test_bad_paths_raise_naming_the_rule(run, path, rule):
    with pytest.raises(InvalidPathError, match=rf"\[rule: {rule}\]"):
        run[path] = 1


def test_path_of_wrong_type_raises(run):
    with pytest.raises(InvalidPathError, match="path-type"):
        run[3] = 1


def test_field_limit(monkeypatch):
    run = neptune.init_run(mode="debug")
    run._tree.max_fields = len(run._tree.fields) + 2
    run["a"] = 1
    run["b"] = 2
    with pytest.raises(FieldLimitExceededError) as info:
        run["c"] = 3
    assert info.value.path == "c" and info.value.rule == "field-limit" and "at most" in str(info.value)
    run["a"] = 5  # existing fields still take writes
    del run["b"]
    run["c"] = 3  # room again after a delete
    assert rules.MAX_FIELDS == 9000


def test_long_strings_are_truncated_with_a_warning(run, caplog):
    with caplog.at_level(logging.WARNING, "neptune_sync"):
        run["note"] = "x" * 20000
        run["log"].append("y" * 1500)
    assert len(run["note"].fetch()) == validation.MAX_STRING_LENGTH
    assert len(run["log"].fetch_last()) == validation.MAX_SERIES_STRING_LENGTH
    assert "'note'" in caplog.text and "[rule: string-length]" in caplog.text
    assert "'log'" in caplog.text and "[rule: series-string-length]" in caplog.text


def test_long_tag_raises(run):
    with pytest.raises(ValueRuleError, match=r"'sys/tags'.*\[rule: set-item-length\]"):
        run["sys/tags"].add("t" * 1001)
    with pytest.raises(ValueRuleError, match="set-item-type"):
        run["sys/tags"].add([1])


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_floats_are_skipped_with_a_warning(run, caplog, bad):
    run["loss"].append(1.0, step=0)
    with caplog.at_level(logging.WARNING, "neptune_sync"):
        run["loss"].append(bad, step=1)
        run["best"] = bad
    assert "'loss'" in caplog.text and "[rule: float-finite]" in caplog.text
    assert "'best'" in caplog.text
    assert [r["step"] for r in rows(run["loss"].fetch_values())] == [0]
    assert not run.exists("best")
    run["loss"].append(2.0, step=1)  # the skipped step is still free
    assert run["loss"].fetch_last() == 2.0


def test_non_increasing_steps_are_dropped_with_a_warning(run, caplog):
    with caplog.at_level(logging.WARNING, "neptune_sync"):
        run["m"].append(1.0, step=5)
        run["m"].append(2.0, step=5)
        run["m"].append(3.0, step=4)
        run["m"].append(4.0)  # implicit: last step + 1
    assert [(r["step"], r["value"]) for r in rows(run["m"].fetch_values())] == [(5, 1.0), (6, 4.0)]
    assert "'m'" in caplog.text and "[rule: step-increasing]" in caplog.text


def test_warnings_are_rate_limited(run, caplog):
    run["m"].append(1.0, step=10)
    with caplog.at_level(logging.WARNING, "neptune_sync"):
        for _ in range(100):
            run["m"].append(1.0, step=1)
    assert caplog.text.count("step-increasing") == 1


@pytest.mark.parametrize(
    "kwargs, rule",
    [
        ({"step": math.nan}, "step-finite"),
        ({"step": "3"}, "step-type"),
        ({"step": True}, "step-type"),
        ({"step": 10**400}, "step-range"),
        ({"step": -(2**53) - 1}, "step-range"),
        ({"step": 1e300}, "step-range"),
        ({"step": 1, "timestamp": -1.0}, "timestamp-range"),
        ({"step": 1, "timestamp": 1e308}, "timestamp-range"),
        ({"step": 1, "timestamp": "now"}, "timestamp-type"),
    ],
)
def test_bad_steps_and_timestamps_raise(run, kwargs, rule):
    run["m"].append(0.5, step=0)  # a second point: the writer's frame-growing path
    with pytest.raises(ValueRuleError, match=rf"'m'.*\[rule: {rule}\]"):
        run["m"].append(1.0, **kwargs)
    run["m"].append(2.0, step=5)  # and the series still takes good points
    assert [r["value"] for r in rows(run["m"].fetch_values())] == [0.5, 2.0]


def test_an_int_subclass_step_is_logged_as_a_plain_int(run):
    class Epoch(enum.IntEnum):
        FIRST = 1
        SECOND = 2

    run["m"].append(0.5, step=Epoch.FIRST)
    run["m"].append(0.7, step=Epoch.SECOND)
    assert [r["step"] for r in rows(run["m"].fetch_values())] == [1.0, 2.0]


def test_int_out_of_range_raises(run):
    with pytest.raises(ValueRuleError, match=r"'big'.*\[rule: int-range\]"):
        run["big"] = 2**70


def test_unsupported_types_warn_and_log_nothing(run):
    with pytest.warns(neptune.NeptuneUnsupportedType, match="'params/layers'.*stringify_unsupported"):
        run["params"] = {"layers": [1, 2], "lr": 0.1}
    assert run["params"].fetch() == {"lr": 0.1}
    with pytest.warns(neptune.NeptuneUnsupportedType, match="'s'"):
        run["s"].append(object())
    assert not run.exists("s")


def test_float_like_scalars_append_to_float_series(run):
    class Scalar:  # like a 0-d torch tensor
        ndim = 0

        def __float__(self) -> float:
            return 0.25

    run["loss"].append(Scalar(), step=1)
    assert run["loss"].fetch_last() == 0.25


def test_datetimes_become_utc_aware(run):
    naive = dt.datetime(2026, 5, 1, 12, 0, 0)
    run["t"] = naive
    run["u"] = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert run["t"].fetch() == naive.astimezone(dt.timezone.utc)
    assert run["u"].fetch() == dt.datetime(2026, 5, 1, 10, 0, tzinfo=dt.timezone.utc)
    assert run["u"].fetch().tzinfo is dt.timezone.utc


def test_numpy_scalars_and_missing_files(run, tmp_path):
    np = pytest.importorskip("numpy")
    run["n"] = np.int64(3)
    run["s"].append(np.float32(0.5), step=np.int64(2))
    assert run["n"].fetch() == 3 and rows(run["s"].fetch_values())[0]["step"] == 2
    with pytest.raises(ValueRuleError, match=r"'model'.*\[rule: file-exists\]"):
        run["model"].upload(str(tmp_path / "missing.pt"))
    with pytest.raises(ValueRuleError, match="file-exists"):
        run["files"].upload_files(str(tmp_path / "*.none"))


def test_fetch_of_missing_field(run):
    with pytest.raises(neptune.exceptions.MissingFieldError, match="'nope'"):
        run["nope"].fetch()
    run["s"] = "x"
    with pytest.raises(
        neptune.exceptions.NeptuneUserError, match="needs a fileSeries or floatSeries or stringSeries"
    ):
        run["s"].fetch_last()


NUL_CASES = {
    "string field": (lambda r, tmp: r["s"].assign("a\x00b"), "s", "string-nul"),
    "string via setitem": (lambda r, tmp: r.__setitem__("s", "\x00"), "s", "string-nul"),
    "string series": (lambda r, tmp: r["ss"].append("x\x00"), "ss", "string-nul"),
    "tag": (lambda r, tmp: r["sys/tags"].add(["ok", "t\x00"]), "sys/tags", "string-nul"),
    "removed tag": (lambda r, tmp: r["sys/tags"].remove("t\x00"), "sys/tags", "string-nul"),
    "file extension": (
        lambda r, tmp: r["f"].upload(neptune.File.from_content(b"x", extension="a\x00")),
        "f",
        "file-name",
    ),
    "file extension with a path": (
        lambda r, tmp: r["f"].upload(neptune.File.from_content(b"x", extension="../x")),
        "f",
        "file-name",
    ),
    "file path": (lambda r, tmp: r["f"].upload(str(tmp / "a\x00b")), "f", "file-name"),
    "file series extension": (
        lambda r, tmp: r["fs"].append(neptune.File.from_content(b"x", extension="\x00")),
        "fs",
        "file-name",
    ),
    "file set pattern": (lambda r, tmp: r["set"].upload_files(str(tmp / "x\x00")), "set", "string-nul"),
    "file set relpath with a backslash": (
        lambda r, tmp: r["set"].upload_files(str(tmp / "back\\slash.txt")),
        "set",
        "file-path",
    ),
    "artifact path": (lambda r, tmp: r["art"].track_files(str(tmp / "\x00")), "art", "string-nul"),
    "artifact destination": (
        lambda r, tmp: r["art"].track_files(str(tmp / "data.csv"), destination="../up"),
        "art",
        "file-path",
    ),
    # a lone surrogate (os.fsdecode of a file name that is not UTF-8) cannot be encoded at all
    "string with a lone surrogate": (lambda r, tmp: r["s"].assign("a\ud800"), "s", "string-utf8"),
    "string series with a lone surrogate": (lambda r, tmp: r["ss"].append("\udcff"), "ss", "string-utf8"),
    "tag with a lone surrogate": (lambda r, tmp: r["sys/tags"].add("\ud800"), "sys/tags", "string-utf8"),
}


@pytest.mark.parametrize(
    ("action", "rule"),
    [
        (lambda r: r.__setitem__("a\x00b", 1), "path-nul"),
        (lambda r: r.__setitem__("d", {"k\x00": 1}), "path-nul"),
        (lambda r: r.__setitem__("p\ud800", 1), "path-utf8"),
        (lambda r: r.__setitem__("d", {"k\udcff": "v"}), "path-utf8"),
    ],
)
def test_paths_the_store_cannot_hold_are_path_errors(run, action, rule):
    before = ops_logged(run)
    with pytest.raises(InvalidPathError) as info:
        action(run)
    assert info.value.rule == rule and f"[rule: {rule}]" in str(info.value)
    assert ops_logged(run) == before


@pytest.mark.parametrize("case", sorted(NUL_CASES))
def test_strings_the_store_cannot_hold_are_rule_errors_naming_field_and_rule(run, tmp_path, case):
    (tmp_path / "back\\slash.txt").write_text("x")
    (tmp_path / "data.csv").write_text("a,b\n")
    action, path, rule = NUL_CASES[case]
    before = ops_logged(run)
    with pytest.raises(ValueRuleError) as info:
        action(run, tmp_path)
    assert info.value.path == path and info.value.rule == rule, info.value
    assert f"[rule: {rule}]" in str(info.value)
    assert ops_logged(run) == before


@pytest.mark.parametrize(
    "kw", [{"custom_run_id": "c\x00"}, {"custom_run_id": "c" * 1025}, {"with_id": "R\x00"}]
)
def test_run_ids_with_nul_or_too_long_are_rule_errors(kw):
    with pytest.raises(ValueRuleError) as info:
        neptune.init_run(mode="offline", **kw)
    assert info.value.rule == "run-id"


def test_client_and_store_share_the_file_name_and_path_rules():
    from neptune_sync_store import validation as store_rules

    assert store_rules.file_name_problem is validation.file_name_problem
    assert store_rules.relpath_problem is validation.relpath_problem
