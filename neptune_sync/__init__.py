"""neptune-sync: the Neptune 1.x logging API, written to a crash-safe local operation log.

Use it as ``import neptune_sync as neptune``; see docs/compat.md for what differs from neptune 1.x.
Importing this package loads the standard library and msgspec only.

The public names load on first use (PEP 562), so the processes that import only the shared
contracts (``neptune_sync.wire``: the sync daemon and the store) do not load the training API.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# public name -> the module that defines it ("" for a submodule of the same name)
_EXPORTS = {
    "ANONYMOUS_API_TOKEN": ".config",
    "File": ".types",
    "Handler": ".handler",
    "Model": ".model",
    "ModelVersion": ".model",
    "NeptuneSyncError": ".exceptions",
    "NeptuneUnsupportedType": ".validation",
    "Project": ".run",
    "Run": ".run",
    "exceptions": "",
    "init_model": ".model",
    "init_model_version": ".model",
    "init_project": ".run",
    "init_run": ".run",
    "stringify_unsupported": ".types",
    "types": "",
    "utils": "",
}

if TYPE_CHECKING:
    from . import exceptions, types, utils
    from .config import ANONYMOUS_API_TOKEN
    from .exceptions import NeptuneSyncError
    from .handler import Handler
    from .model import Model, ModelVersion, init_model, init_model_version
    from .run import Project, Run, init_project, init_run
    from .types import File, stringify_unsupported
    from .validation import NeptuneUnsupportedType


def __getattr__(name: str) -> Any:
    if name == "__version__":  # read lazily: importlib.metadata is slow to import
        from importlib.metadata import version

        return version("neptune-sync")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'neptune_sync' has no attribute {name!r}")
    value = import_module(f".{name}" if module == "" else module, __name__)
    if module != "":
        value = getattr(value, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = [
    "ANONYMOUS_API_TOKEN",
    "File",
    "Handler",
    "Model",
    "ModelVersion",
    "NeptuneSyncError",
    "NeptuneUnsupportedType",
    "Project",
    "Run",
    "exceptions",
    "init_model",
    "init_model_version",
    "init_project",
    "init_run",
    "stringify_unsupported",
    "types",
    "utils",
]
