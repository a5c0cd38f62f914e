"""Single-value wrappers of ``neptune.types`` (1.x): ``run["x"] = Float(0.5)`` is ``run["x"] = 0.5``.

``Artifact`` is also what ``fetch()`` of an artifact field returns: it carries the artifact's hash
and file list, so assigning it to another field copies the artifact (as neptune 1.x's
``p["latest"].assign(p["v4"].fetch())``). ``GitRef`` is accepted by ``init_run(git_ref=...)``;
neptune-sync records no git state.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import Any


class Atom:
    """A value with an explicit field type; assigning it logs ``value``."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.value!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.value == self.value  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.value))


class Boolean(Atom):
    def __init__(self, value: Any) -> None:
        super().__init__(bool(value))


class Integer(Atom):
    def __init__(self, value: Any) -> None:
        super().__init__(int(value))


class Float(Atom):
    def __init__(self, value: Any) -> None:
        super().__init__(float(value))


class String(Atom):
    def __init__(self, value: Any) -> None:
        super().__init__(str(value))


class Datetime(Atom):
    def __init__(self, value: _dt.datetime) -> None:
        if not isinstance(value, _dt.datetime):
            raise TypeError(f"Datetime needs a datetime, not {type(value).__name__}")
        super().__init__(value)


class Artifact:
    """An artifact's identity (``hash``) and, when read from a run, its files."""

    __slots__ = ("hash", "files")

    def __init__(self, hash: str, files: Sequence[Any] = ()) -> None:  # noqa: A002 - neptune 1.x name
        self.hash = hash
        self.files = tuple(files)

    def __repr__(self) -> str:
        return f"Artifact(hash={self.hash!r}, files={len(self.files)})"

    def __str__(self) -> str:
        return self.hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Artifact) and other.hash == self.hash

    def __hash__(self) -> int:
        return hash(self.hash)
