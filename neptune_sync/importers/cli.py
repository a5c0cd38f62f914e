"""``neptune-sync import neptune DIR`` and ``neptune-sync import neptune-exporter DIR``.

Exit status: 0 when everything found was imported, 1 when anything was skipped (damaged lines,
records kept aside, missing files: each is listed), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .report import ImportReport

EXIT_SKIPPED = 1
EXIT_USAGE = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``import`` command and its sources."""
    parser = subparsers.add_parser("import", help="import data stranded by the Neptune client or exporter")
    sources = parser.add_subparsers(dest="source", required=True, metavar="SOURCE")
    n1 = sources.add_parser("neptune", help="neptune 1.x .neptune/offline and .neptune/async queues")
    n1.add_argument("dir", type=Path, help="a directory holding .neptune/ (searched recursively)")
    n1.add_argument(
        "--skip-acknowledged",
        action="store_true",
        help="leave out operations the old Neptune service had acknowledged (default: import all on disk)",
    )
    _common(n1)
    n1.set_defaults(func=_run_neptune)
    ex = sources.add_parser("neptune-exporter", help="Parquet files written by neptune-exporter")
    ex.add_argument("dir", type=Path, help="the exporter's data directory (-d), searched recursively")
    ex.add_argument(
        "--files-dir", type=Path, help="the exporter's files directory (-f); default DIR/../files"
    )
    _common(ex)
    ex.set_defaults(func=_run_exporter)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", help="project to import into (default: $NEPTUNE_PROJECT)")
    parser.add_argument(
        "--data-dir", type=Path, help="neptune-sync data directory (default: $NEPTUNE_SYNC_DIR)"
    )


def _project(args: argparse.Namespace, required: bool) -> str | None:
    project = args.project or os.environ.get("NEPTUNE_PROJECT")
    if required and not project:
        print(
            "neptune-sync import: neptune 1.x queues do not record their project; "
            "give --project WORKSPACE/PROJECT or set NEPTUNE_PROJECT",
            file=sys.stderr,
        )
    return project


def _finish(report: ImportReport) -> int:
    print(report.render())
    return EXIT_SKIPPED if report.skipped else 0


def _run_neptune(args: argparse.Namespace) -> int:
    from .neptune1 import import_neptune

    project = _project(args, required=True)
    if not project:
        return EXIT_USAGE
    if not args.dir.is_dir():
        print(f"neptune-sync import: {args.dir} is not a directory", file=sys.stderr)
        return EXIT_USAGE
    return _finish(
        import_neptune(
            args.dir, project=project, data_root=args.data_dir, skip_acknowledged=args.skip_acknowledged
        )
    )


def _run_exporter(args: argparse.Namespace) -> int:
    from ..exceptions import NeptuneUserError
    from .exporter import import_exporter

    if not args.dir.is_dir():
        print(f"neptune-sync import: {args.dir} is not a directory", file=sys.stderr)
        return EXIT_USAGE
    try:
        report = import_exporter(
            args.dir,
            files_dir=args.files_dir,
            project=_project(args, required=False),
            data_root=args.data_dir,
        )
    except NeptuneUserError as exc:
        print(f"neptune-sync import: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return _finish(report)
