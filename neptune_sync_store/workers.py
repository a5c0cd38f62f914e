"""``neptune-sync server --workers N``: N store processes listening on one port (``SO_REUSEPORT``).

The kernel spreads connections among the processes. They share nothing in memory: every guarantee
(idempotent batches, per-writer order, upload state) lives in the database and the blob backend,
so the same holds for store processes on different machines behind a load balancer
(docs/deploy.md). With SQLite the processes share the database file (one machine only).

The parent holds the port (bound, not listening) while the workers start, prints the URL once
every worker listens, forwards SIGINT / SIGTERM to them, and exits when any worker exits,
stopping the others (a supervisor such as systemd restarts the whole group).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Sequence


def run_workers(argv: Sequence[str], host: str, port: int, count: int) -> int:
    """Start ``count`` copies of ``neptune-sync <argv>`` on one port and supervise them."""
    holder = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    holder.bind((host, port))
    port = holder.getsockname()[1]
    children: list[subprocess.Popen] = []
    try:
        for n in range(count):
            extra = ["--workers", "1", "--reuse-port", "--port", str(port)]
            if n > 0:
                extra += ["--token-project", ""]  # the first worker mints the start-up token
            children.append(
                subprocess.Popen(
                    [sys.executable, "-m", "neptune_sync.cli", *argv, *extra],
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
        urls = [child.stdout.readline().strip() for child in children if child.stdout]
        if not all(urls):
            print("neptune-sync server: a worker failed to start", file=sys.stderr)
            return 1
        holder.close()
        print(urls[0], flush=True)
        return _supervise(children)
    finally:
        holder.close()
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()


def _supervise(children: list[subprocess.Popen]) -> int:
    def forward(signum: int, _frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    while True:
        for child in children:
            try:
                code = child.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                continue
            return code
