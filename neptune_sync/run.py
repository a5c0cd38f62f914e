"""``init_run`` / ``Run`` and ``init_project`` / ``Project``: opening a container's log and its lifecycle.

A run lives in its run directory (neptune_sync.oplog.layout): a new run claims a fresh identity;
``with_id`` or an existing ``custom_run_id`` resumes one, replaying its log to learn the types and
last steps of its fields. Debug mode keeps everything in memory.
"""

from __future__ import annotations

import atexit
import datetime as _dt
import getpass
import logging
import os
import socket
import time
import uuid
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from . import config as cfg
from . import connect
from .capture import Capture
from .capture import resolve as capture_options
from .container import Container, ContainerType
from .exceptions import (
    InactiveProjectException,
    LoggingDisabledError,
    NeedExistingRunForReadOnlyMode,
    NeedsStoreError,
    NeptuneMissingApiTokenException,
    RunNotFound,
)
from .oplog import layout
from .oplog.blobs import RunBlobs
from .oplog.writer import OpLogWriter
from .remote import ReadOnlyProject, ReadOnlyRun, project_run_id
from .replay import LogFollower, replay
from .rules import MAX_FIELDS
from .runlog import RunLog, open_drop_counter
from .state import FieldTree
from .tables import ProjectTables
from .validation import check_run_id

logger = logging.getLogger("neptune_sync")

# neptune 1.x init_run options: the capture settings (neptune_sync.capture) and ones without effect here
NEPTUNE_OPTIONS = frozenset(
    {
        "capture_stdout",
        "capture_stderr",
        "capture_hardware_metrics",
        "capture_traceback",
        "proxies",
        "git_ref",
        "dependencies",
        "async_lag_callback",
        "async_lag_threshold",
        "async_no_progress_callback",
        "async_no_progress_threshold",
        "enable_remote_signals",
    }
)
STOP_SYNC_TIMEOUT = 10.0
SYNC_CALL_TIMEOUT = (
    60.0  # seconds a mode="sync" call waits for the store  # seconds stop() waits for the daemon by default
)
WriterFactory = Callable[..., Any]  # (segments_dir, *, project, run_key, run_id, custom_run_id, durability, after)


class Run(Container):
    """A Neptune run: ``run["path"]`` handlers, ``stop()``, ``wait()``, use as a context manager.

    Parameters follow ``neptune.init_run`` (1.x); see :func:`init_run`. ``writer_factory`` builds
    the op-log writer (default :class:`OpLogWriter`): a seam for tests and fault injection.
    """

    _kind = "run"

    def __init__(
        self,
        with_id: str | None = None,
        *,
        project: str | None = None,
        api_token: str | None = None,
        custom_run_id: str | None = None,
        mode: str | None = None,
        name: str | None = None,
        description: str | None = None,
        tags: str | Iterable[str] | None = None,
        source_files: str | Iterable[str] | None = None,
        flush_period: float | None = None,
        fail_on_exception: bool = True,
        fail_on_logging_error: bool | None = None,
        monitoring_namespace: str | None = None,
        writer_factory: WriterFactory = OpLogWriter,
        **ignored: Any,
    ) -> None:
        conf = cfg.resolve(
            project=project,
            api_token=api_token,
            mode=mode,
            flush_period=flush_period,
            strict=fail_on_logging_error,
        )
        if conf.mode == "sync" and not (conf.api_token and conf.start_daemon):
            error = NeedsStoreError if conf.api_token else NeptuneMissingApiTokenException
            raise error(
                "mode='sync' waits for the store on every call: it needs NEPTUNE_API_TOKEN (or api_token=) "
                "and the sync daemon (unset NEPTUNE_SYNC_NO_DAEMON); or use mode='async' / 'offline'"
            )
        if conf.mode == "read-only":
            raise NeedsStoreError(
                f"open a read-only {self._kind} with neptune.init_{self._kind}(..., mode='read-only')"
            )
        unknown = set(ignored) - NEPTUNE_OPTIONS
        if unknown:
            raise TypeError(f"init_run() got unexpected keyword arguments: {', '.join(sorted(unknown))}")
        capturing = capture_options(
            source_files=source_files,
            fail_on_exception=fail_on_exception,
            monitoring_namespace=monitoring_namespace,
            **ignored,
        )
        self._mode = conf.mode
        self._api_token = conf.api_token  # tables and reads of a project go to the store
        self._stopped = False
        self._forked_child = False
        ships = (
            conf.mode in ("async", "sync")
            and conf.start_daemon
            and connect.can_ship(layout.data_dir(), conf.api_token)
        )
        identity, run_path, resumed = self._claim(conf, with_id, custom_run_id)
        runlog, blobs, tree, memory = _open_local(conf, identity, run_path, resumed, writer_factory)
        super().__init__(
            identity=identity, run_path=run_path, runlog=runlog, blobs=blobs, tree=tree, memory=memory
        )
        self._ships = ships
        self._daemon_started = ships and connect.ensure_daemon(layout.data_dir(), conf.api_token)
        self._write_sys_fields(resumed, name, description, tags)
        self._capture = Capture.start(self, capturing, resumed=resumed) if self._kind == "run" else None
        _live_runs.add(self)

    def _claim(
        self, conf: cfg.RunConfig, with_id: str | None, custom_run_id: str | None
    ) -> tuple[layout.RunIdentity, Path | None, bool]:
        """(identity, run directory or None in debug mode, whether the container already existed)."""
        custom = "" if with_id else (custom_run_id or os.environ.get("NEPTUNE_CUSTOM_RUN_ID") or "")
        check_run_id("sys/custom_run_id", custom)
        check_run_id("sys/id", with_id or "")
        return _locate(conf, self._kind, with_id, custom)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._identity.run_id} mode={self._mode}>"

    @property
    def dropped_operations(self) -> int:
        """Writes lost to a log failure (disk full, I/O error) since the run started."""
        return self._runlog.dropped

    @property
    def run_path(self) -> Path | None:
        """The run directory (None in debug mode)."""
        return self._run_path

    @property
    def monitoring_namespace(self) -> str:
        """Where this process's console, hardware and traceback fields go (``monitoring/<hash>``)."""
        return self._capture.options.namespace if self._capture is not None else ""

    def get_url(self) -> str:
        """The run's page in the store's web app when ``NEPTUNE_API_TOKEN`` names a store, else
        the run directory as a file:// URL (offline there is no web app), "" in debug mode."""
        from .exceptions import AuthError
        from .wire.token import parse_token

        if self._run_path is None:
            return ""
        try:
            address = parse_token(os.environ.get("NEPTUNE_API_TOKEN", "")).address
        except AuthError:  # no token, or a bare secret without an address
            return self._run_path.resolve().as_uri()
        return self._app_url(address)

    def _app_url(self, address: str) -> str:
        from .urls import run_url

        return run_url(address, self._identity.project, self._store_ident())

    def _store_ident(self) -> str:
        """How the store finds this container."""
        return self._identity.run_id

    def get_run_url(self) -> str:
        return self.get_url()

    def _write_sys_fields(self, resumed: bool, name: str | None, description: str | None, tags: Any) -> None:
        now = _dt.datetime.now(_dt.timezone.utc)
        if not resumed:
            self["sys/id"] = self._identity.run_id
            self["sys/custom_run_id"] = self._identity.custom_run_id
            self["sys/creation_time"] = now
            self["sys/hostname"] = socket.gethostname()
            self["sys/owner"] = _user()
            self["sys/failed"] = False
        if name is not None or not resumed:
            self["sys/name"] = "Untitled" if name is None else name
        if description is not None or not resumed:
            self["sys/description"] = description or ""
        if tags:
            self["sys/tags"].add(tags)
        self["sys/state"] = "Active"
        self["sys/modification_time"] = now

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc is not None:
            self._mark_failed(exc_type, exc, tb)
        self.stop()

    def _mark_failed(self, exc_type: Any, exc: BaseException, tb: TracebackType | None) -> None:
        """Log the traceback under the monitoring namespace and set ``sys/failed`` (see neptune_sync.capture)."""
        if self._capture is not None and not self._stopped:
            self._capture.exception(exc_type, exc, tb)

    def stop(self, seconds: float | None = None) -> None:
        """Mark the run inactive, make the log durable (fsync) and close it. Idempotent.

        In async mode it then waits for the daemon to sync, at most ``seconds`` (default
        ``STOP_SYNC_TIMEOUT``): the log is durable, so an unreachable store never hangs training.
        """
        if self._stopped:
            return
        try:
            if self._capture is not None:
                self._capture.stop()
            if not self._forked_child:  # the parent owns the run's state
                self["sys/state"] = "Inactive"
                self["sys/modification_time"] = _dt.datetime.now(_dt.timezone.utc)
            if self._mode in ("async", "sync"):  # else nothing to wait for: closing the log fsyncs it
                self.wait(timeout=STOP_SYNC_TIMEOUT if seconds is None else seconds)
        finally:
            self._stopped = True
            self._runlog.close()
            _live_runs.discard(self)

    def wait(self, disk_only: bool = False, timeout: float | None = None) -> None:
        """Make everything logged so far durable on disk (fsync); in async mode, then wait for the daemon
        to sync it (up to ``timeout``, when a daemon is installed)."""
        self._runlog.flush(fsync=True)
        writer = self._runlog.writer
        if self._mode not in ("async", "sync") or disk_only or writer is None or self._run_path is None:
            return
        starting, self._daemon_started = self._daemon_started, False  # only the first wait allows for startup
        synced = connect.wait_synced(
            self._run_path,
            writer.writer_id,
            writer.last_seq,
            timeout,
            daemon_starting=starting,
            announce=repr(self),
        )
        if not synced and self._ships:
            logger.warning(
                "%r: not everything is synced yet%s; the log stays in %s for the daemon "
                "(or `neptune-sync sync`)",
                self,
                connect.sync_problem(self._run_path),
                self._run_path,
            )

    def sync(self, wait: bool = True) -> None:
        """``wait()``, then re-read the run's field types from the log (picks up other writers' fields)."""
        if wait:
            self.wait()
        if self._run_path is not None:
            tree = replay(layout.segments_dir(self._run_path), keep_values=False)
            tree.max_fields = MAX_FIELDS
            self._tree = tree
            for handler in self._handlers.values():
                handler._refresh()


class Project(ProjectTables, Run):
    """Project-level fields (``init_project``): the same handler API, with the project's ``sys/*``
    fields (``sys/id`` is the project key, as in run ids; ``sys/name`` the project name)."""

    _kind = "project"
    container_type = ContainerType.PROJECT
    _inactive_error = InactiveProjectException

    def _tables_source(self) -> tuple[Any, str]:
        return connect.open_store("async", self._api_token), self._identity.project

    def _app_url(self, address: str) -> str:
        """The project's page is its runs table (as in neptune 1.x, where it is the project's URL)."""
        from .urls import project_url

        return project_url(address, self._identity.project)

    def _write_sys_fields(self, resumed: bool, name: Any, description: Any, tags: Any) -> None:
        now = _dt.datetime.now(_dt.timezone.utc)
        if not resumed:
            workspace, _, project_name = self._identity.project.rpartition("/")
            self["sys/id"] = project_key(self._identity.project)
            self["sys/name"] = project_name
            self["sys/owner"] = workspace
            self["sys/visibility"] = "private"
            self["sys/creation_time"] = now
        if description is not None or not resumed:
            self["sys/description"] = description or ""
        self["sys/modification_time"] = now


def init_run(with_id: str | None = None, **kwargs: Any) -> Run | ReadOnlyRun:
    """Start or resume a run (neptune 1.x ``neptune.init_run``).

    Keyword arguments: ``project`` (else ``NEPTUNE_PROJECT``), ``api_token`` (else
    ``NEPTUNE_API_TOKEN``; never written to the log), ``custom_run_id`` (else
    ``NEPTUNE_CUSTOM_RUN_ID``), ``mode`` (else ``NEPTUNE_MODE``, default ``async``; also
    ``offline``, ``debug``, ``sync`` and ``read-only``, which need the API token: see
    docs/compat.md), ``name``, ``description``, ``tags``, ``source_files``, ``flush_period`` (seconds between fsyncs,
    default 5), ``fail_on_exception``, ``fail_on_logging_error`` (else ``NEPTUNE_SYNC_STRICT``).
    ``capture_stdout``, ``capture_stderr``, ``capture_hardware_metrics``, ``capture_traceback``,
    ``monitoring_namespace``, ``git_ref``, ``dependencies`` and ``source_files`` set what is
    captured automatically (neptune_sync.capture; docs/compat.md); ``proxies`` and the ``async_*``
    options are accepted and ignored.

    Raises NeptuneUserError for a bad mode, a missing project (async) or an unknown ``with_id``;
    NeedsStoreError when ``sync`` / ``read-only`` lack the token, the daemon or the store client.
    """
    if (kwargs.get("mode") or os.environ.get("NEPTUNE_MODE")) == "read-only":
        return _read_only(with_id, **kwargs)
    return Run(with_id, **kwargs)


def _read_only(
    with_id: str | None,
    *,
    project: str | None = None,
    api_token: str | None = None,
    custom_run_id: str | None = None,
    **ignored: Any,
) -> ReadOnlyRun:
    conf = cfg.resolve(project=project, api_token=api_token, mode="read-only", flush_period=None, strict=None)
    run = with_id or custom_run_id or os.environ.get("NEPTUNE_CUSTOM_RUN_ID")
    if not run:
        raise NeedExistingRunForReadOnlyMode(
            "mode='read-only' opens an existing run: pass with_id= or custom_run_id="
        )
    return ReadOnlyRun(connect.open_store("read-only", conf.api_token), conf.project, run)


def init_project(project: str | None = None, **kwargs: Any) -> Project | ReadOnlyProject:
    """Open the project-level fields of ``project`` (neptune 1.x ``neptune.init_project``);
    ``mode="read-only"`` reads them, and the project's tables, from the store."""
    if (kwargs.get("mode") or os.environ.get("NEPTUNE_MODE")) == "read-only":
        conf = cfg.resolve(
            project=project,
            api_token=kwargs.get("api_token"),
            mode="read-only",
            flush_period=None,
            strict=None,
        )
        return ReadOnlyProject(connect.open_store("read-only", conf.api_token), conf.project)
    return Project(project=project, **kwargs)


def _open_local(
    conf: cfg.RunConfig,
    identity: layout.RunIdentity,
    run_path: Path | None,
    resumed: bool,
    writer_factory: WriterFactory,
) -> tuple[RunLog, Any, FieldTree, FieldTree | None]:
    """What a run keeps locally: its run log, its blobs, its type-tracking tree and (debug mode) value tree."""
    if run_path is None:  # debug mode
        from .debug_mode import DebugBlobs, DebugWriter

        memory = DebugWriter()
        runlog = RunLog(lambda: memory, strict=conf.strict, flush_period=None)
        return runlog, DebugBlobs(), FieldTree(keep_values=False), memory.tree
    tree, after = FieldTree(keep_values=False), None
    if resumed:  # this writer's records follow everything it resumed from, whatever the clocks say
        follower = LogFollower(layout.segments_dir(run_path), keep_values=False)
        tree, after = follower.update(), follower.floor()
    tree.max_fields = MAX_FIELDS
    opener = _opener(writer_factory, run_path, identity, after, waiting=conf.mode == "sync")
    runlog = RunLog(
        opener, strict=conf.strict, flush_period=conf.flush_period, drops=open_drop_counter(run_path)
    )
    return runlog, RunBlobs(layout.blobs_dir(run_path)), tree, None


def _locate(
    conf: cfg.RunConfig, kind: str, with_id: str | None, custom: str
) -> tuple[layout.RunIdentity, Path | None, bool]:
    """(identity, run directory or None in debug mode, whether the run already existed)."""
    project = conf.project
    if kind == "project":
        run_id, custom = project_run_id(project), ""
    else:
        run_id = with_id or _new_run_id(project)
    fresh = fresh_identity(conf, kind, run_id, custom)
    if conf.mode == "debug":
        return fresh, None, False
    run_path = _find_run(project, with_id) if with_id else layout.run_dir(fresh.run_key)
    return claim_dir(conf, fresh, run_path)


def fresh_identity(
    conf: cfg.RunConfig, kind: str, run_id: str, custom: str = "", model_id: str = ""
) -> layout.RunIdentity:
    """The identity of a container created now (its run directory is keyed by it)."""
    return layout.RunIdentity(
        project=conf.project,
        run_key=layout.run_key_for(conf.project, run_id=run_id, custom_run_id=custom),
        run_id=run_id,
        custom_run_id=custom,
        created=time.time(),
        mode=conf.mode,
        kind=kind,
        model_id=model_id,
    )


def claim_dir(
    conf: cfg.RunConfig, fresh: layout.RunIdentity, run_path: Path
) -> tuple[layout.RunIdentity, Path, bool]:
    """Claim ``run_path`` for ``fresh`` (an existing run.json wins): (identity, path, existed)."""
    existed = (run_path / "run.json").is_file()
    try:
        identity = layout.claim_identity(run_path, fresh)
    except OSError as exc:
        if conf.strict:
            raise LoggingDisabledError(f"cannot create the run directory {run_path}: {exc}") from exc
        logger.error(
            "neptune-sync cannot create the run directory %s (%s); nothing will be logged", run_path, exc
        )
        return fresh, run_path, False
    return identity, run_path, existed


def _find_run(project: str, run_id: str) -> Path:
    direct = layout.run_dir(layout.run_key_for(project, run_id=run_id))
    if (direct / "run.json").is_file():
        return direct
    for path in layout.iter_run_dirs():
        identity = layout.read_identity(path)
        if identity.run_id == run_id and identity.project == project:
            return path
    raise RunNotFound(f"no run with id {run_id!r} in project {project!r} under {layout.data_dir()}")


def project_key(project: str) -> str:
    """The project's short key: the start of sys/id of its runs (``team/vision`` -> ``VISION``)."""
    return "".join(c for c in project.rsplit("/", 1)[-1].upper() if c.isalnum())[:6] or "RUN"


def _new_run_id(project: str) -> str:
    return f"{project_key(project)}-{uuid.uuid4().hex[:12].upper()}"


def _opener(
    factory: WriterFactory, run_path: Path, identity: layout.RunIdentity, after: float | None, *, waiting: bool
) -> Callable[[], Any]:
    """Opens the run's writer with causal floor ``after``; ``waiting`` (sync mode) wraps it to wait
    for the store on each call."""

    def open_writer() -> Any:
        writer = factory(
            layout.segments_dir(run_path),
            project=identity.project,
            run_key=identity.run_key,
            run_id=identity.run_id,
            custom_run_id=identity.custom_run_id,
            durability=cfg.durability_for(run_path),
            after=after,
        )
        return connect.WaitingWriter(writer, run_path, timeout=SYNC_CALL_TIMEOUT) if waiting else writer

    return open_writer


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


_live_runs: weakref.WeakSet[Run] = weakref.WeakSet()


def _mark_forked_children() -> None:
    for run in list(_live_runs):
        run._forked_child = True


os.register_at_fork(after_in_child=_mark_forked_children)


@atexit.register
def _stop_live_runs() -> None:
    """Stop runs left open at interpreter exit, as neptune 1.x does (the log is made durable)."""
    for run in list(_live_runs):
        try:
            run.stop()
        except Exception as exc:
            logger.error("neptune-sync: stopping %r at exit failed: %s", run, exc)
