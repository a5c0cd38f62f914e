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
