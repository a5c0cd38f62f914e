"""Argument checks and paths shared by the integrations (neptune 1.x ``neptune.integrations.utils``)."""

from __future__ import annotations

from typing import Any

from ..container import Container
from ..exceptions import NeptuneUserError
from ..handler import Handler


class IntegrationArgumentError(NeptuneUserError, TypeError):
    """An integration was constructed with an argument of the wrong type (a TypeError, as in 1.x)."""


def verify_type(name: str, value: Any, expected: type | tuple[type, ...]) -> None:
    """Raise :class:`IntegrationArgumentError` naming ``name`` unless ``value`` is an ``expected`` type."""
    if isinstance(value, expected):
        return
    types = expected if isinstance(expected, tuple) else (expected,)
    names = " or ".join("None" if t is type(None) else t.__name__ for t in types)
    raise IntegrationArgumentError(f"{name} must be {names}, not {type(value).__name__} ({value!r:.80})")


def expect_not_an_experiment(run: Any) -> None:
    """Refuse a neptune-client 0.x ``Experiment`` (the legacy API had no run handlers)."""
    if type(run).__name__ == "Experiment":
        raise IntegrationArgumentError(
            "the legacy neptune-client Experiment is not supported: pass a run from neptune.init_run()"
        )


def join_paths(*paths: str) -> str:
    """Join namespace paths with '/', skipping empty parts and stray slashes."""
    return "/".join(part.strip("/") for part in paths if part and part.strip("/"))


def root_of(target: Container | Handler) -> Container:
    """The run behind a run or a namespace handler."""
    return target.get_root_object() if isinstance(target, Handler) else target


def namespace(target: Container | Handler, path: str) -> Container | Handler:
    """``target[path]``, or ``target`` itself for an empty path."""
    return target[path] if path else target


def client_version() -> str:
    """The neptune-sync version, logged under ``source_code/integrations/<name>``."""
    import neptune_sync

    return str(neptune_sync.__version__)


def scalar(value: Any) -> Any:
    """A framework number (a one-element tensor, a numpy or Keras scalar) as a Python number."""
    if isinstance(value, (int, float)):
        return value
    if hasattr(value, "item"):
        return value.item()
    import numpy

    return numpy.asarray(value).item()
