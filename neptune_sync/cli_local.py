"""``neptune-sync ls | show RUN | verify [RUN]``: look at the runs in the local data directory."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .exceptions import CorruptRecordError, NeptuneUserError, OpLogError, SegmentHeaderError
from .oplog import layout
from .oplog.ops import SERIES_TYPES, AssignString, FieldType, op_point_count
from .oplog.reader import SegmentReader, read_run, segment_files
from .replay import replay
from .state import Field


def register(subparsers: Any) -> None:
    """Add the ``ls``, ``show`` and ``verify`` commands (neptune_sync.cli)."""
    ls = subparsers.add_parser("ls", help="list the runs in the data directory: ops, bytes, state")
    ls.set_defaults(func=cmd_ls)
    show = subparsers.add_parser("show", help="print a run's fields and values")
    show.add_argument("run", help="run key, run id or custom run id")
    show.set_defaults(func=cmd_show)
    verify = subparsers.add_parser("verify", help="check every segment of a run (or all runs); report damage")
    verify.add_argument("run", nargs="?", help="run key, run id or custom run id (default: every run)")
    verify.set_defaults(func=cmd_verify)


def cmd_ls(args: argparse.Namespace) -> int:
    runs = layout.iter_run_dirs()
    if not runs:
        print(f"no runs in {layout.data_dir()}")
        return 0
    print(f"{'RUN ID':<24} {'PROJECT':<24} {'OPS':>10} {'BYTES':>12} {'STATE':<9} RUN KEY")
    for path in runs:
        identity = layout.read_identity(path)
        ops, state, damaged = _summary(path)
        state = state + (f" ({damaged} damaged)" if damaged else "")
        print(
            f"{identity.run_id:<24} {identity.project:<24} {ops:>10} {_disk_bytes(path):>12} {state:<9} {identity.run_key}",
        )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    path = find_run(args.run)
    identity = layout.read_identity(path)
    print(f"run {identity.run_id} ({identity.kind}) of {identity.project} in {path}")
    tree = replay(layout.segments_dir(path), keep_values=True)
    for field_path, field in tree.under(""):
        print(f"{field_path}: {describe(field)}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    runs = [find_run(args.run)] if args.run else layout.iter_run_dirs()
    damaged = 0
    for run_path in runs:
        for segment in segment_files(layout.segments_dir(run_path)):
            records, problems = verify_segment(segment)
            damaged += len(problems)
            status = "ok" if not problems else f"{len(problems)} damaged"
            print(f"{segment.relative_to(layout.runs_dir())}: {records} records, {status}")
            for problem in problems:
                print(f"  {problem}")
    print(f"{len(runs)} run(s) checked, {damaged} damaged record(s)")
    return 1 if damaged else 0


def verify_segment(segment: Path) -> tuple[int, list[str]]:
    """(records read, one line per problem) for one segment file."""
    problems: list[str] = []
    records = 0
    try:
        with SegmentReader(segment) as reader:
            for _ in reader.entries(
                on_damage=lambda err: problems.append(f"offset {err.offset}: {err.detail}")
            ):
                records += 1
    except SegmentHeaderError as exc:
        problems.append(f"header: {exc}")
    except OpLogError as exc:
        problems.append(str(exc))
    return records, problems


def find_run(name: str) -> Path:
    """The run directory named by its run key, run id or custom run id."""
    direct = layout.run_dir(name)
    if (direct / "run.json").is_file():
        return direct
    for path in layout.iter_run_dirs():
        identity = layout.read_identity(path)
        if name in (identity.run_id, identity.custom_run_id):
            return path
    raise NeptuneUserError(f"no run {name!r} in {layout.data_dir()} (see `neptune-sync ls`)")


def describe(field: Field) -> str:
    """One line for a field: its type and value (series: point count and last value)."""
    value = field.value
    if field.type in SERIES_TYPES:
        points = value or []
        last = points[-1] if points else None
        if last is None:
            return f"{field.type} (empty)"
        shown = _file(last.value) if field.type == FieldType.FILE_SERIES else repr(last.value)
        return f"{field.type} ({len(points)} points, last step {last.step:g}: {shown})"
    if field.type == FieldType.FILE:
        return f"file {_file(value)}"
    if field.type == FieldType.STRING_SET:
        return f"stringSet {sorted(value or ())}"
    if field.type == FieldType.FILE_SET:
        return f"fileSet {sorted(value or ())}"
    if field.type == FieldType.ARTIFACT:
        return f"artifact {field.last_value} ({len(value or {})} files)"
    if field.type == FieldType.DATETIME:
        return f"datetime {value.isoformat()}"
    return f"{field.type} {value!r}"


def _file(ref: Any) -> str:
    return f"{ref.name or ref.sha256[:12]} ({ref.size} bytes)"


def _summary(run_path: Path) -> tuple[int, str, int]:
    """(operations and points logged, sys/state or "-", damaged records) of a run."""
    ops, state, damaged = 0, "-", 0

    def count_damage(err: CorruptRecordError) -> None:
        nonlocal damaged
        damaged += 1

    for _, entry in _entries(run_path, count_damage):
        ops += op_point_count(entry.op)
        if type(entry.op) is AssignString and entry.op.path == "sys/state":
            state = entry.op.value
    return ops, state, damaged


def _entries(run_path: Path, on_damage: Any) -> Iterator[Any]:
    try:
        yield from read_run(layout.segments_dir(run_path), on_damage=on_damage)
    except OpLogError as exc:
        on_damage(exc)


def _disk_bytes(run_path: Path) -> int:
    return sum(p.stat().st_size for p in run_path.rglob("*") if p.is_file())
