"""What runs and projects share: the field tree, the run log, handlers by path, read-back.

A container validates a write against its type-tracking :class:`FieldTree` first (a conflict
raises and logs nothing), then hands the operation to its :class:`RunLog`. Read-back replays the
log from disk into a value-keeping tree (debug mode reads the in-memory one).
"""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import Any, TextIO

from .exceptions import InactiveContainerException, InactiveRunError, MetadataInconsistency
from .handler import Handler
from .oplog import layout
from .readback import namespace_values
from .replay import LogFollower
from .runlog import RunLog
from .state import FieldTree
from .validation import check_path
from .values import PLAIN_ATOMS, atom_op, dict_key
from .wire.ops import DeleteField, Op


class ContainerType(str, enum.Enum):
    """What a container is (neptune 1.x ``run.container_type``)."""

    RUN = "run"
    PROJECT = "project"
    MODEL = "model"
    MODEL_VERSION = "model_version"


class Container:
    """A set of fields addressed by path: ``container["a/b"]`` gives a :class:`Handler`."""

    container_type = ContainerType.RUN
    _inactive_error: type[InactiveContainerException] = InactiveRunError

    def __init__(
        self,
        *,
        identity: layout.RunIdentity,
        run_path: Path | None,
        runlog: RunLog,
        blobs: Any,
        tree: FieldTree,
        memory: FieldTree | None = None,
    ) -> None:
        self._identity = identity
        self._run_path = run_path
        self._runlog = runlog
        self._blobs = blobs
        self._tree = tree
        self._handlers: dict[str, Handler] = {}
        self._memory = memory  # debug mode: the fields with values, kept in memory
        self._follower: LogFollower | None = None  # read-back state, built on the first fetch

    # ------------------------------------------------------------------ handlers
    def __getitem__(self, path: str) -> Handler:
        handler = self._handlers.get(path)  # not ``try``: a first use of a path would raise KeyError
        if handler is None:
            handler = self._handlers[path] = Handler(self, check_path(path))
        return handler

    def __setitem__(self, path: str, value: Any) -> None:
        handler = self._handlers.get(path)
        if handler is None and type(value) in PLAIN_ATOMS:  # no handler made for a one-off assign
            self._assign_atom(check_path(path), value)
        else:
            self[path].assign(value)

    def __delitem__(self, path: str) -> None:
        self.pop(path)

    def assign(self, value: dict[str, Any], wait: bool = False) -> None:
        """Assign a dict of values at the root (each key becomes a field or namespace)."""
        for key, item in value.items():
            self[dict_key("", key)].assign(item)

    def define(self, path: str, value: Any, wait: bool = False) -> Handler:
        """Create the field (or namespace, for a dict) at ``path`` with ``value``; raises
        ``MetadataInconsistency`` if something is already there (neptune 1.x)."""
        if self.exists(path):
            raise MetadataInconsistency(f"{path!r} is already defined; assign to it instead")
        handler = self[path]
        handler.assign(value)
        return handler

    def get_attribute(self, path: str) -> Handler | None:
        """The handler of the field at ``path``, or None if there is none (neptune 1.x returns its
        attribute object; a handler has the same methods)."""
        return self[path] if self._tree.get(path) is not None else None

    def get_state(self) -> str:
        """``"started"``, or ``"stopped"`` after ``stop()``."""
        return "stopped" if self._runlog.closed else "started"

    def ping(self) -> None:
        """Nothing to do: there is no server session to keep alive (neptune 1.x pings its server)."""

    def exists(self, path: str) -> bool:
        """True if ``path`` holds a field or a namespace."""
        return self._tree.get(path) is not None or (bool(path) and self._tree.is_namespace(path))

    def pop(self, path: str, wait: bool = False) -> None:
        """Delete a field, or every field of a namespace."""
        check_path(path)
        targets = (
            [path]
            if self._tree.get(path) is not None
            else [f"{path}/{rel}" for rel, _ in self._tree.under(path)]
        )
        for target in targets:
            self._log(DeleteField(target))
        for key, handler in self._handlers.items():
            if key == path or key.startswith(path + "/"):
                handler._refresh()  # the cached series field is gone

    def get_structure(self) -> dict[str, Any]:
        """The field tree as nested dicts; leaves are field type names (e.g. ``"floatSeries"``)."""
        return self._tree.structure()

    def print_structure(self, file: TextIO | None = None) -> None:
        """Print the field tree, one namespace or field per line."""
        out = file or sys.stdout
        _print_tree(self.get_structure(), 0, out)

    def fetch(self) -> dict[str, Any]:
        """Every field's value as nested dicts (series give their last value) from the local log."""
        return namespace_values(self._snapshot(), "")

    # ------------------------------------------------------------------ internals used by Handler
    def _assign_atom(self, path: str, value: Any) -> None:
        """Assign an atom: an int, float, str or bool, or a value the handler converted (a datetime,
        a numpy scalar, a value wrapped by ``stringify_unsupported``)."""
        field = self._tree.get(path)
        op = atom_op(path, value, None if field is None else field.type)
        if op is not None:
            self._log(op)

    def _log(self, op: Op) -> None:
        """Check ``op`` against the type rules, then write it (failures contained by the run log)."""
        runlog = self._runlog
        if runlog.closed:
            self._check_active()
        self._tree.apply(op)
        runlog.append(op)

    def _check_active(self) -> None:
        if self._runlog.closed:
            raise self._inactive_error(
                f"the {self.container_type.value} is stopped; it accepts no more writes"
            )

    def _snapshot(self) -> FieldTree:
        """The fields with their values, as logged so far."""
        if self._memory is not None:
            return self._memory
        self._runlog.flush(fsync=False)
        if self._run_path is None:
            return FieldTree(keep_values=True)
        if self._follower is None:
            self._follower = LogFollower(layout.segments_dir(self._run_path), keep_values=True)
        return self._follower.update()


def _print_tree(node: dict[str, Any], depth: int, out: TextIO) -> None:
    for name in sorted(node):
        value = node[name]
        if isinstance(value, dict):
            print(f"{'    ' * depth}'{name}':", file=out)
            _print_tree(value, depth + 1, out)
        else:
            print(f"{'    ' * depth}'{name}': {value}", file=out)
