"""``python -m neptune_sync_store``: run the store, as ``neptune-sync server`` (same options)."""

import sys

from neptune_sync.cli import main

sys.exit(main(["server", *sys.argv[1:]]))
