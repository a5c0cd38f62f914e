"""Finding runs and noticing new data: file events as hints, a periodic rescan as the backstop.

Only this module imports watchfiles. Writes through a shared mapping raise no inotify events, so
events mostly announce new runs and segments; replicators of live runs poll on their own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import anyio
from anyio.abc import TaskStatus
from watchfiles import awatch

from neptune_sync.oplog.layout import iter_run_dirs, runs_dir

log = logging.getLogger(__name__)


def run_of(runs: Path, changed: Path) -> Path | None:
    """The run directory a changed path belongs to (``runs/<key>/...``), if any.

    Changes under a run's ``sync/`` are the daemon's own writes, not news.
    """
    try:
        rel = changed.relative_to(runs)
    except ValueError:
        return None
    if not rel.parts or rel.parts[0].startswith(".") or rel.parts[1:2] == ("sync",):
        return None
    return runs / rel.parts[0]


async def discover(
    root: Path,
    on_run: Callable[[Path], None],
    rescan_interval: float,
    stop: anyio.Event,
    *,
    task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Call ``on_run(run_dir)`` for every run found, and again whenever it may have changed.

    Set ``stop`` before cancelling: the file watcher's thread only notices that event.
    """
    runs = runs_dir(root)
    runs.mkdir(parents=True, exist_ok=True)
    async with anyio.create_task_group() as tg:
        tg.start_soon(_watch, runs, on_run, stop)
        _rescan(root, on_run)
        task_status.started()
        while True:
            await anyio.sleep(rescan_interval)
            _rescan(root, on_run)


def _rescan(root: Path, on_run: Callable[[Path], None]) -> None:
    for path in iter_run_dirs(root):
        on_run(path)


async def _watch(runs: Path, on_run: Callable[[Path], None], stop: anyio.Event) -> None:
    async for changes in awatch(
        runs, debounce=50, step=20, recursive=True, stop_event=stop, rust_timeout=1000
    ):
        for run in {run_of(runs, Path(p)) for _, p in changes} - {None}:
            if (run / "run.json").is_file():
                on_run(run)
