"""``neptune-sync import neptune DIR``: every neptune 1.x queue under DIR becomes a run in our log.

Each neptune run (and model, model version) becomes one of our runs, keyed by (project, neptune
container id); the container id is its run id and is also kept in the fields ``import/neptune/*``.
A neptune project container's fields go to the project-level fields of ``init_project``. Several queues of one container (a resumed run, async partitions) go to the
same run, one writer each. Neptune 1.x queues do not record the project name: it is given on the
command line (or ``NEPTUNE_PROJECT``).
"""

from __future__ import annotations

from pathlib import Path

from ..oplog import layout
from ..oplog import ops as o
from .neptune1_ops import IGNORED, Converter, KeptAside
from .neptune1_queue import Damage, QueueDir, QueuedOp, find_queues, read_queue
from .report import ImportReport, SourceReport
from .target import ImportTarget, finish_pending, records


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
    run_id = f"project:{project}" if is_project else queue.container_id
    run_key = layout.run_key_for(project, run_id=run_id)
    run_path = layout.run_dir(run_key, data_root)
    identity = layout.claim_identity(
        run_path,
        layout.RunIdentity(
            project=project,
            run_key=run_key,
            run_id=run_id,
            created=queue.created,
            mode=queue.mode,
            kind="project" if is_project else "run",
        ),
    )
    report = SourceReport(str(queue.path), run_key=run_key, container_id=queue.container_id)
    finish_pending(run_path)
    done = records(run_path, queue.source_key)
    ack = queue.ack_marker or 0
    target: ImportTarget | None = None
    converter: Converter | None = None
    last_version = 0

    def damaged(d: Damage) -> None:
        report.problems.append(str(d))

    try:
        for item in read_queue(queue, damaged):
            last_version = item.version
            if any(r.covers(item.version) for r in done):
                report.already_imported += 1
                continue
            if skip_acknowledged and item.version <= ack:
                report.skipped_acknowledged += 1
                continue
            if target is None:
                target = ImportTarget(run_path, identity, queue.source_key, item.version)
                converter = Converter(target.blobs, queue)
                _append_identity(target, queue, item.at or queue.created)
            _convert_one(item, converter, target, report, ack)
        if target is not None:
            target.commit(last_version, {"source_path": str(queue.path), "ack_marker": ack})
    except BaseException:
        if target is not None:
            target.abort()
        raise
    _check_markers(queue, last_version, report)
    if target is not None and done and target.first_version < max(r.last_version for r in done):
        report.notes.append(
            "versions older than an earlier import were added now; where both set a field, the older value may win"
        )
    return report


def _convert_one(
    item: QueuedOp, converter: Converter, target: ImportTarget, report: SourceReport, ack: int
) -> None:
    kind = str(item.obj.get("type"))
    try:
        ops = converter.convert(item.obj)
    except KeptAside as exc:
        target.keep(
            {
                "file": str(item.file),
                "offset": item.offset,
                "version": item.version,
                "reason": exc.reason,
                "record": item.obj,
            }
        )
        report.problems.append(
            f"{item.file} @ byte {item.offset} (version {item.version}): {exc.reason}; kept aside"
        )
        return
    if not ops and kind in IGNORED:
        report.ignored[kind] = report.ignored.get(kind, 0) + 1
        return
    for op in ops:
        target.append(op, item.at if item.at is not None else 0.0)
        report.imported_points += len(getattr(op, "points", ()))
    report.imported_ops += 1
    report.acknowledged += item.version <= ack


def _append_identity(target: ImportTarget, queue: QueueDir, ts: float) -> None:
    for name, value in (
        ("container_id", queue.container_id),
        ("container_type", queue.container_type),
        ("mode", queue.mode),
        ("client_version", queue.client_version),
    ):
        if value:
            target.append(o.AssignString(f"import/neptune/{name}", value), ts)


def _check_markers(queue: QueueDir, last_version: int, report: SourceReport) -> None:
    put = queue.put_marker
    if put is not None and put > last_version:
        report.notes.append(
            f"last_put_version says {put} but the data ends at version {last_version}: "
            f"{put - last_version} operation(s) the client accepted never reached the disk (lost in a crash)"
        )
    if queue.ack_marker:
        report.notes.append(f"the old service had acknowledged versions up to {queue.ack_marker}")
