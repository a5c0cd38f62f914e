"""``neptune.new``: the import path of neptune 0.x's new API, kept by neptune 1.x with a warning.

``neptune.new.<module>`` is ``neptune.<module>`` (see ``neptune._aliases``).
"""

import warnings

from neptune import *  # noqa: F403
from neptune import __all__  # noqa: F401

warnings.warn(
    "`neptune.new` is deprecated: import from `neptune` instead (as neptune 1.x says)",
    DeprecationWarning,
    stacklevel=2,
)
