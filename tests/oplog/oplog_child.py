"""Child process of the kill tests: runs the workload at full speed until it is killed.

Usage: oplog_child.py SEGMENTS_DIR PROGRESS_FILE DURABILITY SEGMENT_SIZE [PAUSE]

Every REPORT_EVERY blocks (about 1000 calls) it stores, as a u64 in PROGRESS_FILE (shared memory), the last sequence
number a call returned; in buffered mode it calls flush() first, so the number is flushed data.
With PAUSE (seconds) it sleeps that long after each report: a reader re-reading the whole log
then keeps up with it.
"""

from __future__ import annotations

import itertools
import mmap
import struct
import sys
import time
from pathlib import Path

from oplog_helpers import new_writer
from oplog_workload import log_block

REPORT_EVERY = 16  # blocks of 64 calls


def main(segments: str, progress: str, durability: str, segment_size: str, pause: str = "0") -> None:
    with open(progress, "r+b") as f:
        shared = mmap.mmap(f.fileno(), 8)
    writer = new_writer(Path(segments), durability=durability, segment_size=int(segment_size))
    buffered = durability == "buffered"
    blocks = itertools.count()
    while True:
        for _ in range(REPORT_EVERY):
            seq = log_block(writer, next(blocks))
        if buffered:
            writer.flush()
        # one 8-byte copy: struct.pack_into zeroes the target first, so a kill inside it would
        # report 0
        shared[0:8] = struct.pack("<Q", seq)
        if float(pause):
            time.sleep(float(pause))


if __name__ == "__main__":
    main(*sys.argv[1:])
