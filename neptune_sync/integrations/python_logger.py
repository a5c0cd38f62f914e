"""``NeptuneHandler``: a :mod:`logging` handler that appends formatted records to a string series.

As neptune 1.x ``neptune.integrations.python_logger``: the default series is
``<monitoring namespace>/python_logger``, and the run gets
``source_code/integrations/neptune-python-logger`` (the client version). A record logged while the
handler is already writing (a log call made by the logging path itself) is dropped instead of
recursing; records arriving after the run stopped are dropped.
"""

from __future__ import annotations

import logging
import threading

from ..exceptions import InactiveRunError
from ..run import Run
from .utils import client_version, verify_type

INTEGRATION_VERSION_KEY = "source_code/integrations/neptune-python-logger"
DEFAULT_MONITORING_NAMESPACE = "monitoring"

__all__ = ["NeptuneHandler"]


class NeptuneHandler(logging.Handler):
    """Send the records of a logger to the string series ``path`` of ``run``.

    Args:
        run: the run to write to.
        level: the handler's level (default ``logging.NOTSET``: whatever the logger passes).
        path: the string series; default ``<run.monitoring_namespace>/python_logger``
            (``monitoring/python_logger`` when the run has no monitoring namespace).

    Raises:
        IntegrationArgumentError (a TypeError) for an argument of the wrong type.
    """

    def __init__(self, *, run: Run, level: int = logging.NOTSET, path: str | None = None) -> None:
        verify_type("run", run, Run)
        verify_type("level", level, int)
        if path is None:
            monitoring = getattr(run, "monitoring_namespace", None) or DEFAULT_MONITORING_NAMESPACE
            path = f"{monitoring}/python_logger"
        verify_type("path", path, str)
        super().__init__(level=level)
        self._series = run[path]
        self._local = threading.local()
        run[INTEGRATION_VERSION_KEY] = client_version()

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._local, "writing", False):
            return
        self._local.writing = True
        try:
            self._series.append(self.format(record))
        except InactiveRunError:
            pass
        except Exception:  # logging's contract: report through handleError, never raise
            self.handleError(record)
        finally:
            self._local.writing = False
