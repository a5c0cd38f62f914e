"""Regenerate neptune1_offline/ with the real neptune 1.x client (not run by the tests).

    python3 -m venv /tmp/nep1 && /tmp/nep1/bin/pip install "neptune>=1.14,<2"
    mkdir -p /tmp/neptune1-fixture-gen && cd /tmp/neptune1-fixture-gen
    /tmp/nep1/bin/python .../make_neptune1_fixture.py
    then copy .neptune/, a.txt and setdir/ to tests/importers/data/neptune1_offline/

The queue records absolute paths under /tmp/neptune1-fixture-gen; the tests rewrite that prefix.
"""

import datetime
import os
import struct
import zlib

import neptune
from neptune.types import File


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0\xff\0\0"))
        + chunk(b"IEND", b"")
    )


with open("a.txt", "w") as f:
    f.write("hello file\n")
os.makedirs("setdir/sub", exist_ok=True)
with open("setdir/x.txt", "w") as f:
    f.write("x")
with open("setdir/sub/y.txt", "w") as f:
    f.write("yy")

run = neptune.init_run(
    mode="offline",
    name="fixture",
    tags=["t1", "t2"],
    capture_hardware_metrics=False,
    capture_stdout=False,
    capture_stderr=False,
    git_ref=False,
    source_files=[],
)
run["params/lr"] = 0.001
run["params/epochs"] = 3
run["params/flag"] = True
run["params/name"] = "exp"
run["params/when"] = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
for i in range(50):
    run["train/loss"].append(1.0 / (i + 1), step=i)
run["train/acc"].append(0.5)
run["train/acc"].append(0.6)
run["train/half"].append(1.5, step=0.5)
run["scratch"].append(1.0)
run["scratch"].clear()
run["notes"].append("hello")
run["notes"].append("world", step=10)
run["sys/tags"].add("t3")
run["sys/tags"].remove("t1")
run["cfg"].upload("a.txt")
run["mem"].upload(File.from_content("in memory"))
run["fset"].upload_files("setdir")
run["fset"].delete_files("x.txt")
run["art"].track_files("setdir")
run["todel"] = 1
del run["todel"]
run["imgs"].append(File.from_content(tiny_png(), extension="png"), name="img0", description="d")
run.stop()
