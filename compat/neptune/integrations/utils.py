"""``neptune.integrations.utils``: what neptune 1.x integration packages import from it."""

from neptune.exceptions import NeptuneLegacyIncompatibilityException
from neptune.internal.utils import verify_type
from neptune.internal.utils.paths import join_paths

__all__ = ["expect_not_an_experiment", "join_paths", "verify_type"]


def expect_not_an_experiment(run: object) -> None:
    """Raise if ``run`` is a legacy (neptune 0.x) ``Experiment``; neptune-sync has none, so only a
    foreign object named so is refused."""
    if type(run).__name__ == "Experiment" and type(run).__module__.startswith("neptune."):
        raise NeptuneLegacyIncompatibilityException(
            "a legacy neptune Experiment was passed where a Run is expected"
        )
