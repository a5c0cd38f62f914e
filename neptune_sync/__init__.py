"""neptune-sync: the Neptune 1.x logging API, written to a crash-safe local operation log.

Use it as ``import neptune_sync as neptune``; see docs/compat.md for what differs from neptune 1.x.
Importing this package loads the standard library and msgspec only.
"""

from . import exceptions, types, utils
from .config import ANONYMOUS_API_TOKEN
from .exceptions import NeptuneSyncError
from .handler import Handler
from .model import Model, ModelVersion, init_model, init_model_version
from .run import Project, Run, init_project, init_run
from .types import File, stringify_unsupported
from .validation import NeptuneUnsupportedType


def __getattr__(name: str) -> str:
    if name == "__version__":  # read lazily: importlib.metadata is slow to import
        from importlib.metadata import version

        return version("neptune-sync")
    raise AttributeError(f"module 'neptune_sync' has no attribute {name!r}")


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
