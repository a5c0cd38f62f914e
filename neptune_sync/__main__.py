"""``python -m neptune_sync``: the ``neptune-sync`` command."""

import sys

from .cli import main

sys.exit(main())
