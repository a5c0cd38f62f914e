"""``neptune-sync sync``: replicate the chosen runs once, until nothing is left, then stop.

For air-gapped machines when they reconnect, and for offline runs. Uses the same replicator as
the daemon (the same state files, so a running daemon and a one-shot sync never disagree).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import anyio

from neptune_sync.oplog.layout import iter_run_dirs, read_identity

from .config import DaemonConfig
from .gate import ProjectGate
from .replicator import READ_ERROR, PassResult, Replicator
from .sinks.base import Sink

PROGRESS_INTERVAL = 0.2


class TargetError(Exception):
    """A RUN or DIR argument that names nothing."""


def resolve_targets(targets: list[str], root: Path) -> list[Path]:
    """Run directories named by paths (run dir, data dir, dir of runs) or by run key / id / custom id."""
    if not targets:
        return iter_run_dirs(root)
    found: list[Path] = []
    for target in targets:
        path = Path(target).expanduser()
        if (path / "run.json").is_file():
            found.append(path)
        elif (path / "runs").is_dir():
            found.extend(iter_run_dirs(path))
        elif path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if (p / "run.json").is_file()))
        else:
            found.extend(_by_name(target, root))
    return list(dict.fromkeys(found))


def _by_name(name: str, root: Path) -> list[Path]:
    hits = []
    for run in iter_run_dirs(root):
        ident = read_identity(run)
        if name in (run.name, ident.run_id, ident.custom_run_id):
            hits.append(run)
    if not hits:
        raise TargetError(f"no run or directory {name!r} (looked in {root})")
    return hits


def print_progress(replicators: list[Replicator], done: int) -> None:
    acked = sum(w.acked_seq for r in replicators for w in r.state.writers.values())
    pending = sum(r.state.pending_ops for r in replicators)
    line = f"\rsync: {done}/{len(replicators)} runs done, {acked:,} ops acknowledged, {pending:,} pending"
    sys.stderr.write(line)
    sys.stderr.flush()


async def sync_once(
    config: DaemonConfig,
    sink: Sink,
    run_paths: list[Path],
    progress: Callable[[list[Replicator], int], None] | None = None,
    timeout: float | None = None,
) -> dict[Path, tuple[PassResult, Replicator]]:
    """Sync each run until it has nothing left (or cannot make progress, or ``timeout`` seconds
    passed: the store may be unreachable); returns each outcome, unfinished runs as pending."""
    gate, limiter = ProjectGate(), anyio.CapacityLimiter(config.max_concurrent_requests)
    replicators = [Replicator(p, sink, config, gate=gate, limiter=limiter) for p in run_paths]
    results: dict[Path, tuple[PassResult, Replicator]] = {}

    async def one(replicator: Replicator) -> None:
        try:
            results[replicator.run_path] = (await replicator.sync_until_done(), replicator)
        except OSError as exc:  # a file of the run this process may not read: named, not a traceback
            replicator.state.last_error = f"{READ_ERROR}: {exc}"
            results[replicator.run_path] = (
                PassResult(pending=max(1, replicator.state.pending_ops)),
                replicator,
            )

    await sink.open()
    try:
        with anyio.move_on_after(timeout):
            async with anyio.create_task_group() as tg:
                for replicator in replicators:
                    tg.start_soon(one, replicator)
                while progress is not None and len(results) < len(replicators):
                    progress(replicators, len(results))
                    await anyio.sleep(PROGRESS_INTERVAL)
        for replicator in replicators:
            unfinished = PassResult(pending=max(1, replicator.state.pending_ops))
            results.setdefault(replicator.run_path, (unfinished, replicator))
        if progress is not None:
            progress(replicators, len(results))
    finally:
        await sink.close()
    return results
