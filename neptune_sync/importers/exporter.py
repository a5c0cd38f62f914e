"""``neptune-sync import neptune-exporter DIR``: the Parquet files of neptune-ai/neptune-exporter.

The exporter writes one long table per run (``<run>_part_<n>.parquet``, one directory per
project; schema ``neptune_exporter/model.py::SCHEMA``, documented in its README): one row per
parameter value or series point, with columns ``project_id, run_id, attribute_path,
attribute_type, step, timestamp`` and one typed value column. Files were downloaded next to it
(``--files-path``); ``file_value.path`` is relative to that tree.

Each (project_id, run_id) becomes one of our runs. Rows are numbered in file order (parts in
order), and the import of a run is recorded like a queue import (see :mod:`.target`), so running
it again adds nothing. Histogram series have no equivalent here: those rows are kept aside.

Needs ``pyarrow`` (``pip install 'neptune-sync[exporter]'``); imported only when this runs.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import NeptuneUserError
from ..oplog import layout
from ..oplog.blobs import RunBlobs
from ..wire import ops as o
from .report import ImportReport, SourceReport
from .rules import KeptAside, field_path, finite, int64
from .target import RangeImport, claim_run, labels

_PART = re.compile(r"^(.*)_part_(\d+)\.parquet$")
_SERIES = {"float_series", "string_series", "file_series"}


@dataclass(frozen=True)
class ExportedRun:
    project_id: str
    run_id: str
    parts: tuple[Path, ...]


def _pyarrow_parquet():
    try:
        import pyarrow.parquet as pq
    except ModuleNotFoundError:
        raise NeptuneUserError(
            "reading neptune-exporter Parquet files needs pyarrow: pip install 'neptune-sync[exporter]'"
        ) from None
    return pq


def find_exported_runs(root: Path) -> list[ExportedRun]:
    """Every exported run under ``root``: its part files in order, and its real ids."""
    pq = _pyarrow_parquet()
    groups: dict[tuple[Path, str], list[tuple[int, Path]]] = {}
    for path in Path(root).rglob("*.parquet"):
        m = _PART.match(path.name)
        stem, n = (m.group(1), int(m.group(2))) if m else (path.stem, 0)
        groups.setdefault((path.parent, stem), []).append((n, path))
    runs = []
    for _, parts in sorted(groups.items()):
        ordered = tuple(p for _, p in sorted(parts))
        first = next(
            pq.ParquetFile(ordered[0]).iter_batches(batch_size=1, columns=["project_id", "run_id"]), None
        )
        row = first.to_pylist()[0] if first is not None and first.num_rows else {}
        runs.append(ExportedRun(row.get("project_id") or "", row.get("run_id") or ordered[0].stem, ordered))
    return runs


def import_exporter(
    root: Path, *, files_dir: Path | None = None, project: str | None = None, data_root: Path | None = None
) -> ImportReport:
    """Import every run exported under ``root``; ``project`` overrides the exported project id."""
    report = ImportReport()
    files_dir = files_dir or Path(root).parent / "files"
    runs = find_exported_runs(Path(root))
    if not runs:
        report.problems.append(f"no neptune-exporter Parquet files found under {root}")
    for run in runs:
        report.sources.append(
            import_exported_run(run, files_dir=files_dir, project=project, data_root=data_root)
        )
    return report


def import_exported_run(
    run: ExportedRun, *, files_dir: Path, project: str | None = None, data_root: Path | None = None
) -> SourceReport:
    """Import the rows of one exported run not imported before."""
    created, custom_run_id = _run_facts(run)
    identity, run_path = claim_run(
        project or run.project_id or "neptune-export",
        run.run_id,
        data_root,
        custom_run_id,
        created=created,
        mode="import",
    )
    report = SourceReport(str(run.parts[0]), run_key=identity.run_key, container_id=run.run_id)
    rows = _RowConverter(RunBlobs(layout.blobs_dir(run_path)), _file_roots(files_dir, run), created)
    source_key = f"neptune-exporter/{run.project_id}/{run.run_id}"
    header = labels(project_id=run.project_id, run_id=run.run_id)
    details = {"source_path": str(run.parts[0].parent)}
    with RangeImport(run_path, identity, source_key, report, header=header, details=details) as imp:
        for number, row, (part, index) in _rows(run):
            if not imp.is_new(number):
                continue
            try:
                op, ts = rows.convert(row)
            except KeptAside as exc:
                imp.keep(number, f"{part} row {index}", exc.reason, row, file=str(part), row_in_file=index)
                continue
            imp.append(number, [op], ts)
    return report


def _rows(run: ExportedRun) -> Iterator[tuple[int, dict, tuple[Path, int]]]:
    """(number across all parts from 1, row, (part file, row index in it))."""
    pq = _pyarrow_parquet()
    number = 0
    for part in run.parts:
        index = 0
        for batch in pq.ParquetFile(part).iter_batches(batch_size=8192):
            for row in batch.to_pylist():
                number += 1
                yield number, row, (part, index)
                index += 1


def _run_facts(run: ExportedRun) -> tuple[float, str]:
    """The run's ``sys/creation_time`` (else when its first part was written: the time given to
    rows that carry none) and ``sys/custom_run_id`` (else ""), read ahead of the rows."""
    pq = _pyarrow_parquet()
    import pyarrow.compute as pc

    found: dict[str, object] = {}
    for part in run.parts:
        table = pq.read_table(part, columns=["attribute_path", "datetime_value", "string_value"])
        for path, column in (("sys/creation_time", "datetime_value"), ("sys/custom_run_id", "string_value")):
            values = table.filter(pc.equal(table["attribute_path"], path))[column].drop_null().to_pylist()
            if values and path not in found:
                found[path] = values[0]
    created = found.get("sys/creation_time")
    created_ts = _seconds(created) if created is not None else run.parts[0].stat().st_mtime
    return created_ts, str(found.get("sys/custom_run_id") or "")


def _file_roots(files_dir: Path, run: ExportedRun) -> tuple[Path, ...]:
    """Where ``file_value.path`` may be relative to: the files dir, or its project mirror."""
    return (files_dir, files_dir / run.parts[0].parent.name)


class _RowConverter:
    """One exported row -> one of our operations (series rows become one-point series ops)."""

    def __init__(self, blobs: RunBlobs, file_roots: tuple[Path, ...], default_ts: float) -> None:
        self._blobs = blobs
        self._roots = file_roots
        self._default_ts = default_ts

    def convert(self, row: dict) -> tuple[o.Op, float]:
        path, kind = row.get("attribute_path"), row.get("attribute_type")
        if not isinstance(path, str) or not path:
            raise KeptAside("row without an attribute path")
        path = field_path(path)
        ts = _seconds(row.get("timestamp")) or self._default_ts
        try:
            return self._op(path, kind, row, ts), ts
        except (TypeError, ValueError, OSError) as exc:
            raise KeptAside(f"malformed {kind} row: {type(exc).__name__}: {exc}") from None

    def _op(self, path: str, kind: object, row: dict, ts: float) -> o.Op:
        if kind in _SERIES:
            step = row.get("step")
            if step is None:
                raise KeptAside(f"{kind} row without a step")
            return self._point(path, kind, finite(step, "step"), row, ts)
        if kind == "float":
            return o.AssignFloat(path, finite(_need(row, "float_value")))
        if kind == "int":
            return o.AssignInt(path, int64(int(_need(row, "int_value"))))
        if kind == "string":
            return o.AssignString(path, str(_need(row, "string_value")))
        if kind == "bool":
            return o.AssignBool(path, bool(_need(row, "bool_value")))
        if kind == "datetime":
            return o.AssignDatetime(path, _utc(_need(row, "datetime_value")))
        if kind == "string_set":
            return o.AddStrings(path, tuple(sorted(_need(row, "string_set_value"))))
        if kind == "file":
            return o.AssignFile(path, self._file(row))
        if kind == "file_set":
            return o.UploadFileSet(path, self._file_set(row))
        if kind == "histogram_series":
            raise KeptAside("histogram series have no equivalent in neptune-sync")
        raise KeptAside(f"no conversion for attribute type {kind!r}")

    def _point(self, path: str, kind: object, step: float, row: dict, ts: float) -> o.Op:
        if kind == "float_series":
            return o.LogFloats(path, (o.FloatPoint(step, finite(_need(row, "float_value")), ts),))
        if kind == "string_series":
            return o.LogStrings(path, (o.StringPoint(step, str(_need(row, "string_value")), ts),))
        return o.LogFiles(path, (o.FilePoint(step, self._file(row), ts),))

    def _locate(self, row: dict) -> Path:
        value = _need(row, "file_value")
        rel = value.get("path") if isinstance(value, dict) else None
        if not rel:
            raise KeptAside("file row without file_value.path")
        for root in self._roots:
            if (root / rel).exists():
                return root / rel
        raise KeptAside(f"exported file {rel!r} not found under {', '.join(map(str, self._roots))}")

    def _file(self, row: dict) -> o.FileRef:
        source = self._locate(row)
        if not source.is_file():
            raise KeptAside(f"{source} is not a file")
        sha, size = self._blobs.put_file(source)
        return o.FileRef(sha, size, source.name, source.suffix[1:])

    def _file_set(self, row: dict) -> tuple[o.FileSetEntry, ...]:
        source = self._locate(row)
        files = sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else [source]
        entries = []
        for f in files:
            sha, size = self._blobs.put_file(f)
            rel = f.relative_to(source).as_posix() if source.is_dir() else f.name
            entries.append(o.FileSetEntry(rel, o.FileRef(sha, size, f.name, f.suffix[1:])))
        return tuple(entries)


def _need(row: dict, column: str) -> object:
    value = row.get(column)
    if value is None:
        raise ValueError(f"{column} is empty")
    return value


def _utc(value: object) -> _dt.datetime:
    if not isinstance(value, _dt.datetime):
        raise TypeError(f"expected a timestamp, got {type(value).__name__}")
    return (
        value.replace(tzinfo=_dt.timezone.utc) if value.tzinfo is None else value.astimezone(_dt.timezone.utc)
    )


def _seconds(value: object) -> float:
    return _utc(value).timestamp() if isinstance(value, _dt.datetime) else 0.0
