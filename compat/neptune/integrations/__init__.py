"""``neptune.integrations.<name>`` is ``neptune_sync.integrations.<name>``, for any name.

The integrations live in neptune_sync (``neptune_sync/integrations/<name>.py``: pytorch_lightning,
transformers, optuna, python_logger, tensorflow_keras, lightgbm, xgboost, sklearn, ...);
``neptune._aliases`` resolves the ``neptune.integrations.*`` names to those same modules on import.
"""

import importlib
from types import ModuleType


def __getattr__(name: str) -> ModuleType:
    """``neptune.integrations.optuna`` without an import statement, as attribute access."""
    if name.startswith("_"):
        raise AttributeError(name)
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from exc
