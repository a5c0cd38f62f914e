"""Child process of the kill tests: runs the workload at full speed until it is killed.

Usage: oplog_child.py SEGMENTS_DIR PROGRESS_FILE DURABILITY SEGMENT_SIZE

Every REPORT_EVERY calls it stores, as a u64 in PROGRESS_FILE (shared memory), the last sequence
number a call returned; in buffered mode it calls flush() first, so the number is flushed data.
"""

from __future__ import annotations

import mmap
import struct
import sys
from pathlib import Path

from oplog_helpers import new_writer
from oplog_workload import log_next

REPORT_EVERY = 1000


def main(segments: str, progress: str, durability: str, segment_size: str) -> None:
    with open(progress, "r+b") as f:
        shared = mmap.mmap(f.fileno(), 8)
    writer = new_writer(Path(segments), durability=durability, segment_size=int(segment_size))
    buffered = durability == "buffered"
    while True:
        for _ in range(REPORT_EVERY - 1):
            log_next(writer)
        seq = log_next(writer)
        if buffered:
            writer.flush()
        struct.pack_into("<Q", shared, 0, seq)


if __name__ == "__main__":
    main(*sys.argv[1:])
