"""What a run captures automatically: the ``init_run`` keywords and environment variables, checked.

Defaults follow neptune 1.x: stdout, stderr and hardware metrics are captured unless the process is
interactive (a REPL or a notebook); the traceback of an uncaught exception always is; git is read
from the repository that holds the current directory; no dependencies are recorded unless asked.
Everything that 1.x wrote per process goes under ``monitoring/<hash>``, the hash being the last 8
hex digits of sha256 over ``hostname_pid_tid`` (so each process, and each DDP rank, has its own).
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
import threading
from dataclasses import dataclass
from typing import Any

from ..exceptions import ValueRuleError
from ..types.git_ref import GitRef

MONITORING_NAMESPACE_ENV = "NEPTUNE_MONITORING_NAMESPACE"  # neptune 1.x's name
HARDWARE_PERIOD_ENV = "NEPTUNE_SYNC_MONITORING_PERIOD"
HEARTBEAT_PERIOD_ENV = "NEPTUNE_SYNC_HEARTBEAT_PERIOD"
HARDWARE_PERIOD = 10.0  # seconds between hardware samples, as neptune 1.x
HEARTBEAT_PERIOD = 60.0  # seconds between sys/ping_time updates


@dataclass(frozen=True)
class CaptureOptions:
    """The resolved capture settings of one run."""

    namespace: str
    stdout: bool
    stderr: bool
    hardware: bool
    traceback: bool
    fail_on_exception: bool
    git_ref: GitRef
    dependencies: str | None
    source_files: list[str] | None
    hardware_period: float
    heartbeat_period: float

    @property
    def any_monitoring(self) -> bool:
        """neptune 1.x writes hostname / pid / tid under the namespace when any of these is on."""
        return self.stdout or self.stderr or self.hardware or self.traceback


def resolve(
    *,
    source_files: Any = None,
    fail_on_exception: bool = True,
    capture_stdout: Any = None,
    capture_stderr: Any = None,
    capture_hardware_metrics: Any = None,
    capture_traceback: Any = True,
    monitoring_namespace: Any = None,
    git_ref: Any = None,
    dependencies: Any = None,
    **_: Any,
) -> CaptureOptions:
    """Check the keywords (a wrong type raises ValueRuleError naming the keyword) and fill in defaults."""
    for name, value in (
        ("capture_stdout", capture_stdout),
        ("capture_stderr", capture_stderr),
        ("capture_hardware_metrics", capture_hardware_metrics),
    ):
        _check(name, value, (bool, type(None)), "True, False or None")
    _check("capture_traceback", capture_traceback, bool, "True or False")
    _check("fail_on_exception", fail_on_exception, bool, "True or False")
    _check("monitoring_namespace", monitoring_namespace, (str, type(None)), "a str")
    _check("git_ref", git_ref, (GitRef, bool, type(None)), "a GitRef, GitRef.DISABLED, True or False")
    _check("dependencies", dependencies, (str, os.PathLike, type(None)), '"infer" or a path')
    default = not interactive()
    return CaptureOptions(
        namespace=monitoring_namespace or os.environ.get(MONITORING_NAMESPACE_ENV) or default_namespace(),
        stdout=default if capture_stdout is None else capture_stdout,
        stderr=default if capture_stderr is None else capture_stderr,
        hardware=default if capture_hardware_metrics is None else capture_hardware_metrics,
        traceback=capture_traceback,
        fail_on_exception=fail_on_exception,
        git_ref=_git_ref(git_ref),
        dependencies=None if dependencies is None else os.fspath(dependencies),
        source_files=_source_files(source_files),
        hardware_period=_period(HARDWARE_PERIOD_ENV, HARDWARE_PERIOD),
        heartbeat_period=_period(HEARTBEAT_PERIOD_ENV, HEARTBEAT_PERIOD),
    )


def default_namespace(pid: int | None = None) -> str:
    """``monitoring/<8 hex>`` for this host, process and thread (neptune 1.x's hash)."""
    descriptor = f"{platform.node()}_{os.getpid() if pid is None else pid}_{threading.get_ident()}"
    return f"monitoring/{hashlib.sha256(descriptor.encode()).hexdigest()[-8:]}"


def interactive() -> bool:
    """A REPL (``python -i``, ``sys.ps1``) or an IPython / Jupyter session."""
    if hasattr(sys, "ps1") or sys.flags.interactive:
        return True
    ipython = sys.modules.get("IPython")
    return ipython is not None and getattr(ipython, "get_ipython", lambda: None)() is not None


def _check(name: str, value: Any, types: Any, expected: str) -> None:
    if not isinstance(value, types):
        raise ValueRuleError(name, "init-argument-type", f"expected {expected}, got {type(value).__name__}")


def _git_ref(value: GitRef | bool | None) -> GitRef:
    if value is None or value is True:
        return GitRef()
    if value is False:
        return GitRef.DISABLED
    return value


def _source_files(value: Any) -> list[str] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, (str, os.PathLike)) else list(value)
    for item in items:
        _check("source_files", item, (str, os.PathLike), "a str, a path or a list of them")
    return [os.fspath(item) for item in items]


def _period(env: str, default: float) -> float:
    raw = os.environ.get(env)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.01 <= value <= 86400:
        raise ValueRuleError(env, "capture-period", f"expected seconds between 0.01 and 86400, got {raw!r}")
    return value
