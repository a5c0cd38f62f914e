"""``neptune-sync sync`` and ``neptune-sync status`` (registered into neptune_sync.cli)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import anyio
import msgspec

from neptune_sync.cli_local import table
from neptune_sync.exceptions import CommandError, NeptuneSyncError
from neptune_sync.oplog.drops import dropped_total
from neptune_sync.oplog.layout import iter_run_dirs
from neptune_sync.wire.daemon import LOCK_FILE, daemon_running

from .config import DaemonConfig, load_config
from .oneshot import UNREACHABLE_WAIT

DATA_DIR_HELP = "data dir (default: NEPTUNE_SYNC_DIR or ~/.local/share/neptune-sync)"


def register(subparsers: argparse._SubParsersAction) -> None:
    sync = subparsers.add_parser(
        "sync", help="upload runs to the store once, with progress; exit 1 if anything is left"
    )
    sync.add_argument(
        "targets", nargs="*", metavar="RUN|DIR", help="run dirs, data dirs, or run ids (default: all)"
    )
    sync.add_argument("--config", type=Path, help="daemon config file (docs/daemon.md)")
    sync.add_argument("--data-dir", help=DATA_DIR_HELP)
    sync.add_argument("--store-url", help="store address (default: from NEPTUNE_API_TOKEN)")
    sync.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    sync.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help=f"give up when the store has not been reached for this long (default {UNREACHABLE_WAIT:g})",
    )
    sync.set_defaults(func=cmd_sync)
    status = subparsers.add_parser(
        "status",
        help="per run: ops pending, lag, errors, conflicts, quarantined ops; exit 1 if a run lost data",
    )
    status.add_argument("--config", type=Path, help="daemon config file (docs/daemon.md)")
    status.add_argument("--data-dir", help=DATA_DIR_HELP)
    status.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    status.set_defaults(func=cmd_status)


def _config(args: argparse.Namespace, **overrides: object) -> DaemonConfig:
    """The daemon config the command runs with; a bad file is a CommandError naming it."""
    try:
        return load_config(args.config, data_dir=args.data_dir, **overrides)
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
        where = args.config or "the daemon config file"
        raise CommandError(f"{where}: {exc} (docs/daemon.md lists the keys)") from None


def cmd_sync(args: argparse.Namespace) -> int:
    from neptune_sync.oplog.layout import read_identity
    from neptune_sync.urls import run_url

    from .__main__ import make_sink
    from .oneshot import resolve_targets, sync_once
    from .progress import for_stream
    from .report import run_report
    from .routing import route_for

    config = _config(args, store_url=args.store_url)
    sink = make_sink(config)
    paths = resolve_targets(args.targets, config.root)
    if not paths:
        print(f"no runs in {config.root}")
        return 0
    logger = logging.getLogger("neptune_syncd")
    level = logger.level
    logger.setLevel(logging.CRITICAL)  # the summary below reports every problem a run met, once
    try:
        with for_stream(quiet=args.quiet) as progress:
            results = anyio.run(sync_once, config, sink, paths, progress, args.timeout)
    finally:
        logger.setLevel(level)
    failed = 0
    for path, (result, replicator) in sorted(results.items()):
        state = replicator.state
        report = run_report(path)  # pending counted from the log itself
        dropped = dropped_total(path)
        bad = report.pending_ops or result.stopped or state.quarantined or state.damaged or dropped
        failed += bool(bad)
        note = f"{report.pending_ops} ops left" if report.pending_ops else "synced"
        if state.quarantined:
            note += f", {state.quarantined} quarantined (see {path / 'sync' / 'quarantine.jsonl'})"
        if state.damaged:
            note += f", log incomplete: {len(state.damaged)} damaged or missing range(s), "
            note += f"{state.lost_records} record(s) known lost (see `neptune-sync verify`)"
            for problem in state.damaged:
                print(f"  {problem}", file=sys.stderr)
        if dropped:
            note += f", {dropped} operation(s) dropped by the client (disk full or I/O error)"
        if state.last_error and bad:
            note += f", last error: {state.last_error}"
        print(f"{path.name}: {note}")
        if state.quarantined:
            print_quarantined(path)
        if not bad:
            identity = read_identity(path)
            # a model version's local id is not known to the store: its number is
            url = route_for(config, identity.project).url
            print(f"  {run_url(url, identity.project, state.store_id or identity.run_id)}")
    print(f"{len(results) - failed}/{len(results)} runs fully synced")
    return 1 if failed else 0


SHOWN_QUARANTINED = 20


def print_quarantined(path: Path) -> None:
    """Name the quarantined ops of a run (the last ones, with why)."""
    from .sync_state import read_quarantine

    records = read_quarantine(path)
    for r in records[-SHOWN_QUARANTINED:]:
        print(f"  quarantined: writer {r.writer_id} seq {r.seq} {r.path!r}: {r.reason[:300]}")
    if len(records) > SHOWN_QUARANTINED:
        print(f"  ... and {len(records) - SHOWN_QUARANTINED} more")


def cmd_status(args: argparse.Namespace) -> int:
    """Exit 1 when a run lost data (damaged or missing records, dropped writes), else 0."""
    from .report import run_report

    config = _config(args)
    root = config.root
    running = daemon_running(root)
    reports = [run_report(p) for p in iter_run_dirs(root)]
    if not running:  # what a `neptune-sync sync` from here would meet; a running daemon says its own
        for r in reports:
            if r.pending_ops and not r.last_error:
                r.last_error = _route_problem(config, r.project)
    lost = [r for r in reports if r.damaged or r.lost_records or r.dropped]
    if args.json:
        for report in reports:
            print(msgspec.json.encode(report).decode())
        return 1 if lost else 0
    state = f"running (pid {(root / LOCK_FILE).read_text().strip()})" if running else "not running"
    print(f"data dir {root}: daemon {state}")
    rows = [
        (
            r.run_key,
            r.pending_ops,
            r.pending_bytes,
            f"{r.lag:.1f}",
            r.conflicts,
            r.quarantined,
            r.damaged,
            r.lost_records,
            r.dropped,
            r.last_error,
        )
        for r in reports
    ]
    header = ("RUN", "PENDING", "BYTES", "LAG s", "CONFL", "QUAR", "DAMGD", "LOST", "DROPD", "LAST ERROR")
    for line in table(header, rows, right=frozenset(range(1, 9))):
        print(line)
    if lost:
        print(
            f"{len(lost)} run(s) lost data: `neptune-sync verify RUN` shows what and where",
            file=sys.stderr,
        )
    return 1 if lost else 0


def _route_problem(config: DaemonConfig, project: str) -> str:
    """Why a sync could not ship this project's runs with this config ("" if it could)."""
    from .routing import route_for

    try:
        route_for(config, project)
    except NeptuneSyncError as exc:
        return str(exc)
    return ""
