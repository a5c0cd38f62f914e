"""``neptune-sync import neptune DIR``: every neptune 1.x queue under DIR becomes a run in our log.

Each neptune run (and model, model version) becomes one of our runs, keyed by (project, neptune
container id); the container id is its run id and is also kept in the fields ``import/neptune/*``.
A neptune project container's fields go to the project-level fields of ``init_project``. Several
queues of one container (a resumed run) go to the same run, one writer each. Neptune 1.x queues
do not record the project name: it is given on the command line (or ``NEPTUNE_PROJECT``).
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from ..oplog import layout
from ..oplog.blobs import RunBlobs
from ..wire import ops as o
from .neptune1_ops import IGNORED, Converter
from .neptune1_queue import QueueDir, QueuedOp, find_queues, read_queue
from .report import ImportReport, SourceReport
from .rules import KeptAside
from .target import RangeImport, claim_run, labels


def import_neptune(
    root: Path, *, project: str, data_root: Path | None = None, skip_acknowledged: bool = False
) -> ImportReport:
    """Import every neptune 1.x queue found under ``root`` into the data directory.

    ``skip_acknowledged`` leaves out operations the old service had acknowledged (by default
    everything on disk is imported, since the service and its copy are gone).
    """
    report = ImportReport()
    queues = find_queues(Path(root))
    if not queues:
        report.problems.append(f"no neptune 1.x queue (data-<n>.log files) found under {root}")
    for queue in queues:
        report.sources.append(
            import_queue(queue, project=project, data_root=data_root, skip_acknowledged=skip_acknowledged)
        )
    return report


def import_queue(
    queue: QueueDir, *, project: str, data_root: Path | None = None, skip_acknowledged: bool = False
) -> SourceReport:
    """Import the operations of one queue directory not imported before."""
    is_project = queue.container_type == "project"
    # the project's fields go where neptune_sync.init_project() keeps them; a run keeps its id,
    # so init_run(with_id=<neptune container id>) resumes the imported run
    identity, run_path = claim_run(
        project,
        f"project:{project}" if is_project else queue.container_id,
        data_root,
        created=queue.created,
        mode=queue.mode,
        kind="project" if is_project else "run",
    )
    report = SourceReport(str(queue.path), run_key=identity.run_key, container_id=queue.container_id)
    converter = Converter(RunBlobs(layout.blobs_dir(run_path)), queue)
    ack = queue.ack_marker or 0
    header = labels(
        container_id=queue.container_id,
        container_type=queue.container_type,
        mode=queue.mode,
        client_version=queue.client_version,
    )
    if not is_project:  # what the service kept for a run, as neptune_sync.init_run writes it
        header += _sys_fields(identity.run_id, queue.created)
    details = {"source_path": str(queue.path), "ack_marker": ack}
    with RangeImport(run_path, identity, queue.source_key, report, header=header, details=details) as imp:
        for item in read_queue(queue, lambda d: report.problems.append(str(d))):
            if not imp.is_new(item.version):
                continue
            if skip_acknowledged and item.version <= ack:
                report.skipped_acknowledged += 1
                continue
            if _convert_one(item, converter, imp, report, queue.created) and item.version <= ack:
                report.acknowledged += 1
    _check_markers(queue, imp.last, report)
    return report


def _sys_fields(run_id: str, created: float) -> list[o.Op]:
    fields: list[o.Op] = [o.AssignString("sys/id", run_id), o.AssignString("sys/state", "Inactive")]
    if created:
        fields.append(
            o.AssignDatetime("sys/creation_time", _dt.datetime.fromtimestamp(created, _dt.timezone.utc))
        )
    return fields


def _convert_one(
    item: QueuedOp, converter: Converter, imp: RangeImport, report: SourceReport, default_ts: float
) -> bool:
    """Convert and write one queued operation (``default_ts`` if it has no time); returns whether
    it was imported."""
    kind = str(item.obj.get("type"))
    try:
        ops = converter.convert(item.obj)
    except KeptAside as exc:
        where = f"{item.file} @ byte {item.offset} (version {item.version})"
        imp.keep(item.version, where, exc.reason, item.obj, file=str(item.file), offset=item.offset)
        return False
    if not ops and kind in IGNORED:
        report.ignored[kind] = report.ignored.get(kind, 0) + 1
        return False
    imp.append(item.version, ops, item.at if item.at is not None else default_ts)
    return True


def _check_markers(queue: QueueDir, last_version: int, report: SourceReport) -> None:
    put = queue.put_marker
    if put is not None and put > last_version:
        report.notes.append(
            f"last_put_version says {put} but the data ends at version {last_version}: "
            f"{put - last_version} operation(s) the client accepted never reached the disk (lost in a crash)"
        )
    if queue.ack_marker:
        report.notes.append(f"the old service had acknowledged versions up to {queue.ack_marker}")
