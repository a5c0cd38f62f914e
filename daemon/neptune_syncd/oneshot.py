"""``neptune-sync sync``: replicate the chosen runs once, until nothing is left, then stop.

For air-gapped machines when they reconnect, and for offline runs. Uses the same replicator as
the daemon (the same state files, so a running daemon and a one-shot sync never disagree).
"""

from __future__ import annotations

from pathlib import Path

import anyio

from neptune_sync.exceptions import CommandError, StoreError
from neptune_sync.oplog.layout import iter_run_dirs, read_identity

from .config import DaemonConfig
from .gate import ProjectGate
from .progress import Progress
from .replicator import READ_ERROR, PassResult, Replicator
from .report import run_report
from .sinks.base import Sink

PROGRESS_INTERVAL = 0.2
UNREACHABLE_WAIT = 60.0  # seconds every unfinished run may fail to reach the store before sync gives up


class TargetError(CommandError):
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
        raise TargetError(
            f"no run or directory {name!r} (looked in {root}; `neptune-sync ls` lists the runs)"
        )
    return hits


def acked_ops(replicator: Replicator) -> int:
    """Sequence numbers of the run acknowledged (or quarantined) so far, over all its writers."""
    return sum(w.acked_seq for w in replicator.state.writers.values())


async def sync_once(
    config: DaemonConfig,
    sink: Sink,
    run_paths: list[Path],
    progress: Progress | None = None,
    timeout: float | None = None,
) -> dict[Path, tuple[PassResult, Replicator]]:
    """Sync each run until it has nothing left or cannot make progress; returns each outcome.

    A run whose store refuses its token, whose project has no token, or that the store refuses
    for good ends at once with ``state.last_error`` saying why; the others go on. When every
    unfinished run has failed to reach the store for ``timeout`` seconds in a row (default
    ``UNREACHABLE_WAIT``), the sync gives up on them (the wait is announced on ``progress``).
    """
    timeout = UNREACHABLE_WAIT if timeout is None else timeout
    progress = progress or Progress()
    gate, limiter = ProjectGate(), anyio.CapacityLimiter(config.max_concurrent_requests)
    replicators = [
        Replicator(p, sink, config, gate=gate, limiter=limiter, give_up_on_auth=True) for p in run_paths
    ]
    for replicator in replicators:
        replicator.state.last_error = ""  # this sync's errors, not those of an earlier one
    start = {r.run_path: acked_ops(r) for r in replicators}
    total = sum(await anyio.to_thread.run_sync(_pending_ops, run_paths))
    results: dict[Path, tuple[PassResult, Replicator]] = {}

    async def one(replicator: Replicator) -> None:
        try:
            result = await replicator.sync_until_done()
        except OSError as exc:  # a file of the run this process may not read: named, not a traceback
            replicator.state.last_error = f"{READ_ERROR}: {exc}"
            result = PassResult(pending=replicator.state.pending_ops)
        except StoreError as exc:  # no token for the project, token refused, run refused
            replicator.refused(exc)
            result = PassResult(pending=replicator.state.pending_ops)
        results[replicator.run_path] = (result, replicator)

    def show() -> None:
        acked = sum(max(0, acked_ops(r) - start[r.run_path]) for r in replicators)
        progress.update(min(acked, total), total, len(results), len(replicators))

    await sink.open()
    try:
        async with anyio.create_task_group() as tg:
            for replicator in replicators:
                tg.start_soon(one, replicator)
            failing_since: float | None = None
            while len(results) < len(replicators):
                show()
                unfinished = [r for r in replicators if r.run_path not in results]
                errors = [r.state.last_error for r in unfinished]
                now = anyio.current_time()
                if not all(errors):
                    failing_since = None
                elif failing_since is None:
                    failing_since = now
                    progress.note(
                        f"cannot reach the store ({errors[0]}); retrying for up to {timeout:g} s "
                        "(--timeout SECONDS changes this)"
                    )
                elif now - failing_since >= timeout:
                    progress.note(
                        f"gave up after {timeout:g} s without reaching the store; "
                        "run `neptune-sync sync` again once it is reachable"
                    )
                    for replicator in unfinished:
                        replicator.state.last_error = f"gave up after {timeout:g} s without reaching the store: {replicator.state.last_error}"
                    tg.cancel_scope.cancel()
                    break
                await anyio.sleep(PROGRESS_INTERVAL)
        show()
        for replicator in replicators:
            results.setdefault(
                replicator.run_path, (PassResult(pending=replicator.state.pending_ops), replicator)
            )
    finally:
        await sink.close()
        progress.close()
    return results


def _pending_ops(run_paths: list[Path]) -> list[int]:
    return [run_report(p).pending_ops for p in run_paths]
