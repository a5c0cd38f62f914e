"""``neptune.<module>`` names that are neptune_sync modules (the same module objects, not copies).

- ``neptune.types``, ``neptune.exceptions``, ``neptune.utils``, ``neptune.handler``,
  ``neptune.management`` (and their
  submodules) are ``neptune_sync.<same>``;
- ``neptune.integrations.<name>`` is ``neptune_sync.integrations.<name>`` for any name
  (``neptune.integrations.utils`` included);
- ``neptune.new.<rest>`` is ``neptune.<rest>`` (the pre-1.0 import path).

A meta-path finder resolves them on import, so nothing is imported before it is asked for and
``isinstance`` checks hold across both names.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

SAME_NAMES = ("types", "exceptions", "utils", "handler", "management")
PACKAGE_DIR = Path(__file__).resolve().parent


def target_of(fullname: str) -> str | None:
    """The module ``fullname`` (a ``neptune.*`` name) stands for, or None if it is not an alias."""
    parts = fullname.split(".")
    if parts[0] != "neptune" or len(parts) < 2:
        return None
    if parts[1] == "new" and len(parts) > 2:
        return ".".join(["neptune", *parts[2:]])
    if parts[1] in SAME_NAMES or (parts[1] == "integrations" and len(parts) > 2):
        return ".".join(["neptune_sync", *parts[1:]])
    return None


class AliasLoader(importlib.abc.Loader):
    """Loads an alias as the target module itself; the target keeps its own ``__spec__``."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._spec: Any = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self.target)
        self._spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self._spec  # the import system set it to the alias's spec


class AliasFinder(importlib.abc.MetaPathFinder):
    """Finds ``neptune.*`` aliases; this package's own modules are found as usual."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        alias_of = target_of(fullname)
        if alias_of is None:
            return None
        own = importlib.machinery.PathFinder.find_spec(fullname, path)
        if own is not None and own.origin and Path(own.origin).resolve().is_relative_to(PACKAGE_DIR):
            return own
        try:
            if importlib.util.find_spec(alias_of) is None:
                return None
        except ModuleNotFoundError:  # a parent package of the target does not exist
            return None
        return importlib.machinery.ModuleSpec(fullname, AliasLoader(alias_of))


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, AliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, AliasFinder())
