"""SIGKILL a process logging through the public API: every returned call survives, and a resumed
run continues the steps where the killed one stopped."""

from __future__ import annotations

import os
import random
import signal
import struct
import subprocess
import sys
import time

from client_helpers import rows

import neptune_sync as neptune

KILLS = 10
CHILD = """
import mmap, os, struct, sys
import neptune_sync as neptune
fd = os.open(sys.argv[1], os.O_RDWR)
done = mmap.mmap(fd, 8)
run = neptune.init_run(project="w/kill", mode="offline", custom_run_id="killed")
handler = run["loss"]
i = 0
while True:
    handler.append(float(i))  # implicit step: the last step (also of a resumed run) + 1
    # after the call returned; one 8-byte copy, not struct.pack_into (which zeroes the target
    # first: a kill inside it would read back as 0 and under-count this child's calls)
    done[0:8] = struct.pack("<q", i)
    i += 1
"""


def acknowledged(path) -> int:
    with open(path, "rb") as f:
        return struct.unpack("<q", f.read(8))[0]


def test_sigkill_loses_no_returned_call_and_resume_continues_steps(tmp_path):
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    counter = tmp_path / "counter"
    expected_total = 0
    for _ in range(KILLS):
        counter.write_bytes(struct.pack("<q", -1))
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(counter)], env=os.environ.copy())
        try:
            deadline = time.monotonic() + 30
            while acknowledged(counter) < 0 and time.monotonic() < deadline and child.poll() is None:
                time.sleep(0.005)
            assert acknowledged(counter) >= 0, f"child did not start logging (seed {seed})"
            time.sleep(rng.uniform(0.0, 0.15))
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
        expected_total += acknowledged(counter) + 1  # calls 0..k returned before the kill

    run = neptune.init_run(project="w/kill", mode="offline", custom_run_id="killed")
    steps = [row["step"] for row in rows(run["loss"].fetch_values(include_timestamp=False))]
    run.stop()
    # each child's returned calls are all there; a call in flight at the kill may be there too
    assert len(steps) >= expected_total, f"seed {seed}"
    assert len(steps) <= expected_total + KILLS, f"seed {seed}"
    assert steps == list(range(len(steps))), f"steps not contiguous (seed {seed})"
