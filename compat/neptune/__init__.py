"""``import neptune``: the neptune 1.x API, served by neptune_sync (see docs/compat.md).

This package is a shim: everything here is neptune_sync's (``neptune.Run is neptune_sync.Run``,
``neptune.types is neptune_sync.types``); ``_aliases`` maps the ``neptune.*`` module names. It
refuses to import next to Neptune's own client (``_guard``).
"""

from pathlib import Path as _Path

from ._guard import refuse_foreign_neptune as _refuse_foreign_neptune

_refuse_foreign_neptune(_Path(__file__).resolve().parent)

from ._aliases import install as _install_aliases  # noqa: E402

_install_aliases()

from neptune_sync import (  # noqa: E402
    ANONYMOUS_API_TOKEN,
    File,
    Handler,
    Model,
    ModelVersion,
    NeptuneUnsupportedType,
    Project,
    Run,
    exceptions,
    init_model,
    init_model_version,
    init_project,
    init_run,
    stringify_unsupported,
    types,
    utils,
)


def __getattr__(name: str) -> str:
    if name == "__version__":  # the shim's distribution version, read lazily
        from importlib.metadata import version

        return version("neptune")
    raise AttributeError(f"module 'neptune' has no attribute {name!r}")


__all__ = [
    "ANONYMOUS_API_TOKEN",
    "File",
    "Handler",
    "Model",
    "ModelVersion",
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
