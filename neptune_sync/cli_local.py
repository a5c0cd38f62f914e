"""``neptune-sync ls | show RUN | verify [RUN]``: look at the runs in the local data directory."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .exceptions import CommandError, CorruptRecordError, OpLogError, SegmentHeaderError
from .oplog import layout
from .oplog.drops import read_drops
from .oplog.reader import SegmentReader, SequenceCheck, read_run, segments_by_writer
from .replay import replay
from .state import Field
from .wire.ops import SERIES_TYPES, AssignString, FieldType, op_point_count
from .wire.sync_state import read_state


def register(subparsers: Any) -> None:
    """Add the ``ls``, ``show`` and ``verify`` commands (neptune_sync.cli)."""
    ls = subparsers.add_parser("ls", help="list the runs in the data directory: ops, bytes, state")
    add_data_dir(ls)
    ls.set_defaults(func=cmd_ls)
    show = subparsers.add_parser("show", help="print a run's fields and values")
    show.add_argument("run", help="run key, run id or custom run id")
    add_data_dir(show)
    show.set_defaults(func=cmd_show)
    verify = subparsers.add_parser("verify", help="check every segment of a run (or all runs); report damage")
    verify.add_argument("run", nargs="?", help="run key, run id or custom run id (default: every run)")
    add_data_dir(verify)
    verify.set_defaults(func=cmd_verify)


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    """The ``--data-dir`` option every command reading the data directory takes."""
    parser.add_argument(
        "--data-dir",
        type=Path,
        help=f"data directory (default: ${layout.DATA_DIR_ENV} or ~/.local/share/neptune-sync)",
    )


def data_root(args: argparse.Namespace) -> Path:
    """The data directory a command reads: ``--data-dir``, else the default."""
    root = args.data_dir.expanduser() if args.data_dir else layout.data_dir()
    if args.data_dir and not root.is_dir():
        raise CommandError(f"--data-dir {root} is not a directory")
    return root


def table(
    header: tuple[str, ...], rows: list[tuple[Any, ...]], right: frozenset[int] = frozenset()
) -> list[str]:
    """Lines of a table whose columns are as wide as their widest cell (the last one is not padded)."""
    cells = [tuple(map(str, row)) for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = []
    for row in cells:
        parts = [
            cell if i == len(row) - 1 else (cell.rjust(w) if i in right else cell.ljust(w))
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(parts).rstrip())
    return lines


def cmd_ls(args: argparse.Namespace) -> int:
    root = data_root(args)
    runs = layout.iter_run_dirs(root)
    if not runs:
        print(f"no runs in {root}")
        return 0
    rows = []
    for path in runs:
        identity = layout.read_identity(path)
        ops, state, damaged = _summary(path)
        state = state + (f" ({damaged} damaged)" if damaged else "")
        dropped = sum(r.dropped for r in read_drops(path))
        state = state + (f" ({dropped} dropped)" if dropped else "")
        rows.append((identity.run_id, identity.project, ops, _disk_bytes(path), state, identity.run_key))
    for line in table(
        ("RUN ID", "PROJECT", "OPS", "BYTES", "STATE", "RUN KEY"), rows, right=frozenset({2, 3})
    ):
        print(line)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    path = find_run(args.run, data_root(args))
    identity = layout.read_identity(path)
    print(f"run {identity.run_id} ({identity.kind}) of {identity.project} in {path}")
    for problem in _incomplete(path):
        print(f"INCOMPLETE: {problem}")
    tree = replay(layout.segments_dir(path), keep_values=True)
    for field_path, field in tree.under(""):
        print(f"{field_path}: {describe(field)}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    root = data_root(args)
    runs = [find_run(args.run, root)] if args.run else layout.iter_run_dirs(root)
    damaged = missing = dropped = 0
    for run_path in runs:
        floors = synced_floors(run_path)
        run_ops = 0
        for writer_id, segments in segments_by_writer(layout.segments_dir(run_path)).items():
            gaps: list[CorruptRecordError] = []
            check = SequenceCheck(gaps.append, floors.get(writer_id, 0))
            for segment in segments:
                records, ops, problems = verify_segment(segment, check)
                run_ops += ops
                damaged += len(problems)
                status = "ok" if not problems else f"{len(problems)} damaged"
                print(f"{segment.relative_to(layout.runs_dir(root))}: {records} records, {ops} ops, {status}")
                for problem in problems:
                    print(f"  {problem}")
            check.finish()
            missing += len(gaps)
            for gap in gaps:
                print(f"MISSING {gap}")
        for record in read_drops(run_path):
            dropped += record.dropped
            print(
                f"DROPPED {run_path.name}: {record.dropped} operation(s) not written by process "
                f"{record.pid} ({record.reason})"
            )
        print(f"{run_path.name}: {run_ops} ops (as `neptune-sync ls` counts them)")
    print(
        f"{len(runs)} run(s) checked, {damaged} damaged record(s), {missing} missing range(s), "
        f"{dropped} dropped operation(s)"
    )
    return 1 if damaged or missing or dropped else 0


def verify_segment(segment: Path, check: SequenceCheck | None = None) -> tuple[int, int, list[str]]:
    """(records read, ops and points they hold, one line per problem) for one segment file;
    ``check`` follows its writer."""
    problems: list[str] = []
    records = ops = 0

    def damage(err: CorruptRecordError) -> None:
        lost = (
            "" if err.lost is None else f" (seq {err.lost[0]}..{err.lost[1]}, {err.lost_count} records lost)"
        )
        problems.append(f"offset {err.offset}: {err.detail}{lost}")

    try:
        with SegmentReader(segment) as reader:
            if check is not None:
                check.begin(segment, reader.header)
            for _, entry in reader.entries(on_damage=damage):
                records += 1
                ops += op_point_count(entry.op)
            if check is not None:
                check.end(reader)
    except SegmentHeaderError as exc:
        problems.append(f"header: {exc}")
        if check is not None:
            check.unreadable(segment)
    except OpLogError as exc:
        problems.append(str(exc))
    return records, ops, problems


def synced_floors(run_path: Path) -> dict[str, int]:
    """Per writer, the records the store acknowledged: their segments may have been pruned."""
    state = read_state(run_path)
    return {w: ws.acked_seq for w, ws in state.writers.items()} if state else {}


def _incomplete(run_path: Path) -> list[str]:
    """What the run's log lacks: damaged and missing records, writes its processes dropped."""
    problems: list[str] = []
    for _ in _entries(run_path, lambda err: problems.append(str(err))):
        pass
    state = read_state(run_path)  # what the daemon met, maybe in segments pruned since
    problems += [p for p in (state.damaged if state else []) if p not in problems]
    problems += [
        f"{r.dropped} operation(s) dropped by process {r.pid}: {r.reason}" for r in read_drops(run_path)
    ]
    return problems


def find_run(name: str, root: Path | None = None) -> Path:
    """The run directory named by its run key, run id or custom run id (in ``root``, default the
    data directory); raises CommandError naming where it looked."""
    root = root or layout.data_dir()
    direct = layout.run_dir(name, root) if name and "/" not in name and name not in (".", "..") else None
    if direct is not None and (direct / "run.json").is_file():
        return direct
    for path in layout.iter_run_dirs(root):
        identity = layout.read_identity(path)
        if name in (identity.run_id, identity.custom_run_id):
            return path
    raise CommandError(f"no run {name!r} in {root} (`neptune-sync ls --data-dir {root}` lists them)")


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
    synced = read_state(run_path)  # what the daemon met, maybe in segments pruned since
    return ops, state, max(damaged, len(synced.damaged) if synced else 0)


def _entries(run_path: Path, on_damage: Any) -> Iterator[Any]:
    try:
        yield from read_run(
            layout.segments_dir(run_path), on_damage=on_damage, floors=synced_floors(run_path)
        )
    except OpLogError as exc:
        on_damage(exc)


def _disk_bytes(run_path: Path) -> int:
    return sum(p.stat().st_size for p in run_path.rglob("*") if p.is_file())
