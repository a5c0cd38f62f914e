"""Float points take ``append``'s fast path or its general one by their step; both must keep the
same rules. Each case is checked against a small model of the step rules (docs/compat.md):
a step is a finite int or float (bool excluded) with ``|step| <= 2**53``, else the call raises;
a point whose step is not above the last one is dropped; no step means last + 1 (0 at first)."""

from __future__ import annotations

import logging

import pytest
from client_helpers import rows

import neptune_sync as neptune
from neptune_sync import validation
from neptune_sync.exceptions import ValueRuleError

LIMIT = 2**53


def model(calls: list[object]) -> list[tuple[float, float]]:
    """(step, value) of the points the step rules keep, for points appended with these steps."""
    kept: list[tuple[float, float]] = []
    for value, step in enumerate(calls):
        if step is None:
            step = kept[-1][0] + 1 if kept else 0
        if not kept or step > kept[-1][0]:
            kept.append((step, float(value)))
    return kept


CASES = {
    "small ints": [0, 1, 2, 5, 5, 4, 6],
    "around 2**30": [2**30 - 2, 2**30 - 1, 2**30, 2**30 + 1, None, 2**31],
    "around 2**32": [2**32 - 1, 2**32, None, 2**32 + 7],
    "up to the limit": [10, 2**52, LIMIT - 1, LIMIT, LIMIT],
    "negative": [-50, -3, None, -1, 0, 1],
    "from -1": [-1, None, None],
    "whole and fractional floats": [0.0, 1.0, 1.5, 2.0, None, 3.25, 3.0, 7.0],
    "no steps": [None, None, None],
    "ints after floats": [0.5, 1, 1.5, 2, 3],
}


@pytest.fixture
def run():
    r = neptune.init_run(project="w/p", mode="offline", capture_hardware_metrics=False, git_ref=False)
    yield r
    r.stop()


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch):
    monkeypatch.setattr(validation, "_last_warned", {})  # each case sees its own warnings


@pytest.mark.parametrize("name", sorted(CASES))
def test_points_follow_the_step_rules_on_either_path(run, caplog, name):
    calls = CASES[name]
    handler = run["m"]
    first = run._runlog.last_seq
    with caplog.at_level(logging.WARNING, "neptune_sync"):
        for value, step in enumerate(calls):
            handler.append(float(value), step=step)
    got = [(r["step"], r["value"]) for r in rows(handler.fetch_values(include_timestamp=False))]
    assert got == model(calls)
    assert run._runlog.last_seq - first == len(got)  # a dropped point never reached the log
    if len(model(calls)) < len(calls):
        assert "[rule: step-increasing]" in caplog.text


@pytest.mark.parametrize("step", [LIMIT + 1, -LIMIT - 1, float(LIMIT) * 2])
def test_a_step_beyond_the_limit_raises_after_points_on_the_fast_path(run, step):
    run["m"].append(1.0, step=0)
    run["m"].append(2.0, step=1)
    with pytest.raises(ValueRuleError, match="step-range"):
        run["m"].append(3.0, step=step)
    assert [r["step"] for r in rows(run["m"].fetch_values(include_timestamp=False))] == [0, 1]
