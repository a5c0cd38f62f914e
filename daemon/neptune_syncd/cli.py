"""``neptune-sync sync`` and ``neptune-sync status`` (registered into neptune_sync.cli)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import anyio
import msgspec

from neptune_sync.daemon_control import LOCK_FILE, daemon_running
from neptune_sync.oplog.drops import dropped_total
from neptune_sync.oplog.layout import iter_run_dirs

from .config import load_config


def register(subparsers: argparse._SubParsersAction) -> None:
    sync = subparsers.add_parser(
        "sync", help="upload runs to the store once, with progress; exit 1 if anything is left"
    )
    sync.add_argument(
        "targets", nargs="*", metavar="RUN|DIR", help="run dirs, data dirs, or run ids (default: all)"
    )
    sync.add_argument("--config", type=Path, help="daemon config file (docs/daemon.md)")
    sync.add_argument("--data-dir", help="data dir (default: NEPTUNE_SYNC_DIR or the user default)")
    sync.add_argument("--store-url", help="store address (default: from NEPTUNE_API_TOKEN)")
    sync.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    sync.add_argument(
        "--timeout", type=float, help="give up after this many seconds (default: retry until done)"
    )
    sync.set_defaults(func=cmd_sync)
    status = subparsers.add_parser(
        "status", help="per run: ops pending, lag, errors, conflicts, quarantined ops"
    )
    status.add_argument("--data-dir", help="data dir (default: NEPTUNE_SYNC_DIR or the user default)")
    status.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    status.set_defaults(func=cmd_status)


def cmd_sync(args: argparse.Namespace) -> int:
    from neptune_sync.oplog.layout import read_identity
    from neptune_sync.urls import run_url

    from .__main__ import ConfigError, make_sink, store_address
    from .oneshot import TargetError, print_progress, resolve_targets, sync_once

    try:
        config = load_config(args.config, data_dir=args.data_dir, store_url=args.store_url)
        sink = make_sink(config)
        paths = resolve_targets(args.targets, config.root)
    except (ConfigError, TargetError, OSError, ValueError, msgspec.ValidationError) as exc:
        print(f"neptune-sync sync: {exc}", file=sys.stderr)
        return 2
    progress = None if args.quiet else print_progress
    try:
        results = anyio.run(sync_once, config, sink, paths, progress, args.timeout)
    except KeyboardInterrupt:
        print("\nneptune-sync sync: interrupted; what was acknowledged stays synced", file=sys.stderr)
        return 130
    if progress:
        sys.stderr.write("\n")
    failed = 0
    for path, (result, replicator) in sorted(results.items()):
        state = replicator.state
        dropped = dropped_total(path)
        bad = result.pending or result.stopped or state.quarantined or state.damaged or dropped
        failed += bool(bad)
        note = f"{result.pending} ops left" if result.pending else "synced"
        if state.quarantined:
            note += f", {state.quarantined} quarantined (see {path / 'sync' / 'quarantine.jsonl'})"
        if state.damaged:
            note += f", log incomplete: {len(state.damaged)} damaged or missing range(s), "
            note += f"{state.lost_records} record(s) known lost (see `neptune-sync verify`)"
            for problem in state.damaged:
                print(f"  {problem}", file=sys.stderr)
        if dropped:
            note += f", {dropped} operation(s) dropped by the client (disk full or I/O error)"
        if state.last_error:
            note += f", last error: {state.last_error}"
        print(f"{path.name}: {note}")
        if state.quarantined:
            print_quarantined(path)
        if not bad:
            identity = read_identity(path)
            # a model version's local id is not known to the store: its number is
            print(f"  {run_url(store_address(config)[0], identity.project, state.store_id or identity.run_id)}")
    print(f"{len(results) - failed}/{len(results)} runs fully synced")
    return 1 if failed else 0


SHOWN_QUARANTINED = 20


def print_quarantined(path: Path) -> None:
    """Name the quarantined ops of a run (the last ones, with why)."""
    from .state import read_quarantine

    records = read_quarantine(path)
    for r in records[-SHOWN_QUARANTINED:]:
        print(f"  quarantined: writer {r.writer_id} seq {r.seq} {r.path!r}: {r.reason[:300]}")
    if len(records) > SHOWN_QUARANTINED:
        print(f"  ... and {len(records) - SHOWN_QUARANTINED} more")


def cmd_status(args: argparse.Namespace) -> int:
    from .report import run_report

    try:
        root = load_config(data_dir=args.data_dir).root
    except (OSError, ValueError, msgspec.ValidationError) as exc:
        print(f"neptune-sync status: {exc}", file=sys.stderr)
        return 2
    reports = [run_report(p) for p in iter_run_dirs(root)]
    if args.json:
        for report in reports:
            print(msgspec.json.encode(report).decode())
        return 0
    running = (
        f"running (pid {(root / LOCK_FILE).read_text().strip()})" if daemon_running(root) else "not running"
    )
    print(f"data dir {root}: daemon {running}")
    print(
        f"{'RUN':<48} {'PENDING':>9} {'BYTES':>10} {'LAG s':>8} {'CONFL':>5} {'QUAR':>5} {'DAMGD':>5} "
        f"{'LOST':>6} {'DROPD':>6}  LAST ERROR"
    )
    for r in reports:
        print(
            f"{r.run_key[:48]:<48} {r.pending_ops:>9} {r.pending_bytes:>10} {r.lag:>8.1f} "
            f"{r.conflicts:>5} {r.quarantined:>5} {r.damaged:>5} {r.lost_records:>6} {r.dropped:>6}  "
            f"{r.last_error[:80]}"
        )
    return 0
