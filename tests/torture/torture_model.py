"""The independent model of what the store must hold, computed from the children's journals with
plain Python, and its comparison with what the store serves. Imports nothing it checks.

For every run (custom_run_id) the model knows, from the journals of all processes that wrote it:

* each series point ``(path, step) -> value`` and the window ``[t0, t1]`` its call ran in; a
  returned call's point is *required*, the point of the call in flight at a kill *optional*;
* each assign, tag (added or removed) and upload, required or optional in the same way;
* points of a series logged before a returned ``del`` of its field are *dead*: the store must not
  serve them (a batch re-sent from before the delete would); a ``del`` in flight makes them optional;
* the run's ``sys/state`` events (``Active`` at ``init``, ``Inactive`` at ``stop``).

Assigns to one path keep the latest by time: a value is allowed as the final one unless a
returned call to that path certainly started after it returned. The comparison counts points and
values **lost** (required, absent), **duplicated** (a step served twice) and **invented** (in the
store, in no journal, or with another value), and lists every mismatch by field.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from torture_journal import Call

CLOCK_SLACK = 0.05  # s: a point's timestamp must lie in its call's window, give or take this
OWN_PREFIXES = ("series/", "log/", "params/", "files/", "scratch/")  # the paths the children log to


@dataclass
class Event:
    value: object
    t0: float
    t1: float | None

    @property
    def returned(self) -> bool:
        return self.t1 is not None


@dataclass
class RunModel:
    custom_run_id: str
    points: dict[str, dict[float, Event]] = field(default_factory=lambda: defaultdict(dict))
    kinds: dict[str, str] = field(default_factory=dict)  # series path -> floatSeries / stringSeries
    assigns: dict[str, list[Event]] = field(default_factory=lambda: defaultdict(list))
    files: dict[str, list[Event]] = field(default_factory=lambda: defaultdict(list))
    tags: dict[str, list[Event]] = field(default_factory=lambda: defaultdict(list))  # True: added
    dead: dict[str, dict[float, object]] = field(default_factory=lambda: defaultdict(dict))
    states: list[Event] = field(default_factory=list)
    optional_points: dict[str, dict[float, Event]] = field(default_factory=dict)  # before a del in flight
    calls: int = 0  # returned calls

    def required_points(self) -> int:
        return sum(e.returned for pts in self.points.values() for e in pts.values())


def build(journals: list[list[Call]]) -> dict[str, RunModel]:
    """The model of every run named in the journals (one list of calls per process)."""
    runs: dict[str, RunModel] = {}
    for calls in journals:
        run: RunModel | None = None
        for call in calls:
            if call.kind == "init":
                run = runs.setdefault(call.args[0], RunModel(call.args[0]))
                run.states.append(Event("Active", call.t0, call.t1))
            else:
                _add(run, call)
            run.calls += call.returned
    return runs


def _add(run: RunModel, call: Call) -> None:
    event = lambda value: Event(value, call.t0, call.t1)  # noqa: E731
    if call.kind in ("p", "s"):
        path, step, value = call.args
        assert float(step) not in run.points[path], f"the workload logged {path} step {step} twice"
        run.points[path][float(step)] = event(value)
        run.kinds[path] = "floatSeries" if call.kind == "p" else "stringSeries"
    elif call.kind == "a":
        run.assigns[call.args[0]].append(event(call.args[1]))
    elif call.kind == "up":
        run.files[call.args[0]].append(event((call.args[1], call.args[2])))
    elif call.kind in ("tag", "untag"):
        run.tags[call.args[0]].append(event(call.kind == "tag"))
    elif call.kind == "del":
        path = call.args[0]
        for step, e in run.points.pop(path, {}).items():
            if call.returned:
                run.dead[path][step] = e.value
            else:  # the delete may not have reached the log: the points may live on
                run.dead[path].pop(step, None)
                run.optional_points.setdefault(path, {})[step] = Event(e.value, e.t0, None)
    elif call.kind == "stop":
        run.states.append(event("Inactive"))
    else:
        raise AssertionError(f"unknown journal call {call.kind!r}")


def allowed_finals(events: list[Event]) -> list[object]:
    """Values that may be the last one applied: no returned call certainly started after them."""
    starts = [e.t0 for e in events if e.returned]
    latest_start = max(starts, default=-math.inf)
    return [e.value for e in events if e.t1 is None or e.t1 >= latest_start]


@dataclass
class Report:
    lost: int = 0
    duplicated: int = 0
    invented: int = 0
    checked: int = 0  # required points and values compared
    problems: list[str] = field(default_factory=list)

    def add(self, other: Report) -> None:
        self.lost += other.lost
        self.duplicated += other.duplicated
        self.invented += other.invented
        self.checked += other.checked
        self.problems += other.problems

    def note(self, kind: str, message: str, n: int = 1) -> None:
        setattr(self, kind, getattr(self, kind) + n)
        if len(self.problems) < 40:
            self.problems.append(f"{kind}: {message}")

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.invented or self.problems)


def compare(model: RunModel, view: dict[str, tuple[str, object]] | None) -> Report:
    """Compare one run of the store (``{path: (type, value)}``, series as ``[[step, value, ts]]``)."""
    report = Report()
    view = view or {}
    for path in set(model.points) | set(model.optional_points) | set(model.dead):
        points = {**model.optional_points.get(path, {}), **model.points.get(path, {})}
        _compare_series(report, path, model.kinds[path], points, model.dead.get(path, {}), view.get(path))
    for path, events in model.assigns.items():
        _compare_value(report, path, events, view.get(path), lambda v: v)
    for path, events in model.files.items():
        _compare_value(report, path, events, view.get(path), _file_key)
    _compare_tags(report, model.tags, view.get("sys/tags"))
    _compare_value(report, "sys/state", model.states, view.get("sys/state"), lambda v: v)
    if model.calls and view.get("sys/custom_run_id", (None, model.custom_run_id))[1] != model.custom_run_id:
        report.note("invented", f"sys/custom_run_id is {view['sys/custom_run_id']!r}")
    known = set(model.points) | set(model.optional_points) | set(model.assigns) | set(model.files)
    for path in sorted(set(view) - known):
        if path.startswith(OWN_PREFIXES):
            report.note("invented", f"{path}: a field no process logged ({view[path][0]})")
    return report


def _compare_series(report: Report, path: str, kind: str, points: dict[float, Event], dead: dict, got) -> None:
    required = sum(e.returned for e in points.values())
    report.checked += required
    if got is None:
        if required:
            report.note("lost", f"{path}: missing, {required} returned points", required)
        return
    if got[0] != kind:
        report.note("invented", f"{path}: type {got[0]}, logged as {kind}")
        return
    seen: set[float] = set()
    for step, value, ts in got[1]:
        step = float(step)
        if step in seen:
            report.note("duplicated", f"{path} step {_step(step)} served twice")
            continue
        seen.add(step)
        event = points.get(step)
        if (event is None or value != event.value) and step in dead and dead[step] == value:
            report.note("invented", f"{path} step {_step(step)} = {value!r}: deleted, yet served")
        elif event is None:
            report.note("invented", f"{path} step {_step(step)} = {value!r}: logged by no process")
        elif value != event.value:
            report.note("invented", f"{path} step {_step(step)} = {value!r}, logged {event.value!r}")
        elif not event.t0 - CLOCK_SLACK <= ts <= (event.t1 or math.inf) + CLOCK_SLACK:
            report.note("invented", f"{path} step {_step(step)}: ts {ts} outside its call [{event.t0}, {event.t1}]")
    missing = sorted(s for s, e in points.items() if e.returned and s not in seen)
    if missing:
        report.note("lost", f"{path}: {len(missing)} returned points missing, steps {_ranges(missing)}", len(missing))


def _compare_value(report: Report, path: str, events: list[Event], got, key) -> None:
    if not events:
        return
    report.checked += 1
    if got is None:
        if any(e.returned for e in events):
            report.note("lost", f"{path}: missing (allowed {allowed_finals(events)!r})")
        return
    allowed = allowed_finals(events)
    if key(got[1]) not in allowed:
        kind = "invented" if key(got[1]) not in [e.value for e in events] else "lost"
        report.note(kind, f"{path} = {got[1]!r}; the last logged value is one of {allowed!r}")


def _file_key(value: object) -> object:
    return (value.get("sha256"), value.get("size")) if isinstance(value, dict) else value


def _compare_tags(report: Report, tags: dict[str, list[Event]], got) -> None:
    held = set(got[1]) if got else set()
    for tag, events in tags.items():
        allowed = set(allowed_finals(events))
        if not any(e.returned for e in events):
            allowed.add(False)
        report.checked += 1
        if (tag in held) not in allowed:  # a lost add, or a lost remove
            report.note("lost", f"sys/tags {'lacks' if tag not in held else 'still holds'} {tag!r}")
    own = {t for t in held if "-" in t}  # the children's tags are "<tag>-<i>"
    if own - set(tags):
        report.note("invented", f"sys/tags has {sorted(own - set(tags))[:5]}", len(own - set(tags)))


def _step(step: float) -> str:
    return f"{step:.0f}" if float(step).is_integer() else f"{step:g}"


def _ranges(steps: list[float]) -> str:
    """``0-9, 20, 31-35``: a compact list of (integer) steps."""
    out, start, prev = [], steps[0], steps[0]
    for s in steps[1:] + [math.nan]:
        if s == prev + 1:
            prev = s
            continue
        out.append(_step(start) if start == prev else f"{_step(start)}-{_step(prev)}")
        start = prev = s
    return ", ".join(out[:8]) + (", ..." if len(out) > 8 else "")
