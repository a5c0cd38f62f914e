"""The logging handler against the real ``logging`` module: records land in a string series."""

from __future__ import annotations

import logging
import threading

import pytest
from integration_helpers import series

from neptune_sync.exceptions import IntegrationArgumentError
from neptune_sync.integrations.python_logger import NeptuneHandler


@pytest.fixture
def logger():
    log = logging.getLogger("neptune_sync_test_python_logger")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield log
    log.handlers.clear()


def test_records_are_formatted_into_the_default_series(run, logger):
    handler = NeptuneHandler(run=run)
    handler.setFormatter(logging.Formatter("%(levelname)s:%(message)s"))
    logger.addHandler(handler)
    logger.debug("preparing %d rows", 3)
    logger.warning("done")
    default = f"{getattr(run, 'monitoring_namespace', None) or 'monitoring'}/python_logger"
    assert series(run, default) == [(0.0, "DEBUG:preparing 3 rows"), (1.0, "WARNING:done")]
    assert run["source_code/integrations/neptune-python-logger"].fetch()


def test_level_and_path_are_honoured(run, logger):
    logger.addHandler(NeptuneHandler(run=run, level=logging.ERROR, path="logs/errors"))
    logger.info("not this one")
    logger.error("this one")
    assert series(run, "logs/errors") == [(0.0, "this one")]
    assert "python_logger" not in str(run.get_structure())


def test_records_from_threads_all_land(run, logger):
    logger.addHandler(NeptuneHandler(run=run, path="logs/threads"))
    workers = [
        threading.Thread(target=lambda n=n: [logger.info("t%d-%d", n, i) for i in range(50)])
        for n in range(4)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    lines = [v for _, v in series(run, "logs/threads")]
    assert sorted(lines) == sorted(f"t{n}-{i}" for n in range(4) for i in range(50))


def test_a_record_logged_while_writing_is_dropped_instead_of_recursing(run, logger):
    class Chatty(logging.Formatter):
        def format(self, record):
            logger.info("formatter speaking")  # re-enters the handler on the same thread
            return super().format(record)

    handler = NeptuneHandler(run=run, path="logs/reentrant")
    handler.setFormatter(Chatty())
    logger.addHandler(handler)
    logger.info("outer")
    assert series(run, "logs/reentrant") == [(0.0, "outer")]


def test_records_after_the_run_stopped_are_dropped_silently(run, logger, capsys):
    logger.addHandler(NeptuneHandler(run=run, path="logs/late"))
    logger.info("before")
    run.stop()
    logger.info("after")
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("kwargs", "needle"), [({"level": "INFO"}, "level must be of type int"), ({"path": 5}, "path must be of type str")]
)
def test_bad_arguments_name_the_argument(run, kwargs, needle):
    with pytest.raises(IntegrationArgumentError, match=needle):
        NeptuneHandler(run=run, **kwargs)


def test_a_non_run_is_refused():
    with pytest.raises(TypeError, match="run must be of type Run"):
        NeptuneHandler(run="RUN-1")
