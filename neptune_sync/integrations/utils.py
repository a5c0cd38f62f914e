"""Argument checks and paths shared by the integrations; also ``neptune.integrations.utils``,
``neptune.internal.utils`` and ``neptune.internal.utils.paths`` in the compat package (neptune 1.x names)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..container import Container
from ..exceptions import IntegrationArgumentError, NeptuneLegacyIncompatibilityException
from ..handler import Handler


def verify_type(name: str, value: Any, expected: type | tuple[type, ...]) -> None:
    """Raise :class:`IntegrationArgumentError` (a TypeError) naming ``name`` unless ``value`` is an
    ``expected`` type."""
    if isinstance(value, expected):
        return
    types = expected if isinstance(expected, tuple) else (expected,)
    names = " or ".join("None" if t is type(None) else t.__name__ for t in types)
    raise IntegrationArgumentError(
        f"{name} must be of type {names}, not {type(value).__name__} ({value!r:.80})"
    )


def verify_collection_type(name: str, values: Iterable[Any], expected: type | tuple[type, ...]) -> None:
    """Raise unless ``values`` is a list, set or tuple whose every item is an ``expected`` type."""
    verify_type(name, values, (list, set, tuple))
    for item in values:
        verify_type(f"elements of collection '{name}'", item, expected)


def expect_not_an_experiment(run: Any) -> None:
    """Refuse a neptune-client 0.x ``Experiment`` (the legacy API had no run handlers)."""
    if type(run).__name__ == "Experiment":
        raise NeptuneLegacyIncompatibilityException(
            "the legacy neptune-client Experiment is not supported: pass a run from neptune.init_run()"
        )


def parse_path(path: str) -> list[str]:
    """``"a/b//c/"`` -> ``["a", "b", "c"]``."""
    return [part for part in path.split("/") if part]


def path_to_str(path: list[str]) -> str:
    return "/".join(path)


def join_paths(*paths: str) -> str:
    """Join namespace paths with ``/``, dropping empty segments: ``join_paths("a/", "b")`` -> ``"a/b"``."""
    return path_to_str([part for path in paths for part in parse_path(path)])


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
