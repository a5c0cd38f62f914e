"""The training import path stays light: the read client and tokens pull in no aiohttp / asyncpg / server."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import neptune_sync.wire.protocol, neptune_sync.store_client, neptune_sync.wire.token
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("aiohttp", "asyncpg", "neptune_sync_store", "asyncio"))
print(",".join(heavy))
"""


def test_store_client_and_token_import_no_server_libraries():
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == ""


# the training API: what neither the store nor the sync daemon runs
TRAINING = (
    "neptune_sync.run",
    "neptune_sync.handler",
    "neptune_sync.container",
    "neptune_sync.capture",
    "neptune_sync.model",
)
SERVICE_PROBE = """
import sys
import {module}
print(",".join(sorted(m for m in sys.modules if m.startswith({training!r}))))
"""


def test_store_and_daemon_do_not_load_the_training_api():
    for module in ("neptune_sync_store.app", "neptune_sync_store.cli", "neptune_syncd.service"):
        probe = SERVICE_PROBE.format(module=module, training=TRAINING)
        out = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
        )
        assert out.stdout.strip() == "", module
