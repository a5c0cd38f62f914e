"""``neptune-sync server --workers N``: N processes on one port, stopped together."""

from __future__ import annotations

import urllib.request

import psutil
from store_helpers import start_server, stop


def test_workers_share_one_port_and_stop_with_their_parent(tmp_path):
    proc, url = start_server(tmp_path / "data", "--workers", "2")
    try:
        workers = psutil.Process(proc.pid).children()
        assert len(workers) == 2
        listening = {
            c.pid
            for c in psutil.net_connections("tcp")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == int(url.rsplit(":", 1)[1])
        }
        assert listening == {w.pid for w in workers}  # both workers, not the parent, listen
        for _ in range(20):  # new connections each time: the kernel spreads them
            with urllib.request.urlopen(f"{url}/v1/health", timeout=10) as resp:
                assert resp.status == 200
    finally:
        assert stop(proc) == 0
    gone, alive = psutil.wait_procs(workers, timeout=15)
    assert alive == [] and len(gone) == 2
