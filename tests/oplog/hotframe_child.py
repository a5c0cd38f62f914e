"""Child of tests/oplog/test_hotframe.py: writes call scripts with the hot path build its environment
selects (NEPTUNE_SYNC_PURE_PYTHON) and prints that build and every returned sequence number.

Usage: hotframe_child.py SCRIPTS_JSON OUT_DIR

The process id and the clock are pinned, so both builds write byte-identical segments (headers and
end frames included) exactly when their frames are the same.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.getpid = lambda: 4242
time.time = lambda: 1.7e9

from neptune_sync.oplog import hotframe  # noqa: E402
from neptune_sync.oplog.writer import OpLogWriter  # noqa: E402
from neptune_sync.wire import ops  # noqa: E402


def main(scripts_json: str, out_dir: str) -> None:
    scripts = json.loads(Path(scripts_json).read_text())
    seqs: list[list[int]] = []
    for n, script in enumerate(scripts):
        writer = OpLogWriter(
            Path(out_dir) / str(n),
            project="ws/proj",
            run_key="run",
            writer_id="0123456789abcdef",
            segment_size=script["segment_size"],
            durability=script["durability"],
        )
        returned = []
        for call in script["calls"]:
            if call[0] == "point":
                returned.append(writer.append_float(*call[1:]))
            elif call[0] == "op":
                returned.append(writer.append(ops.AssignString(call[1], call[2]), call[3]))
            else:
                writer.flush()
        writer.close()
        seqs.append(returned)
    print(json.dumps({"build": hotframe.BUILD, "seqs": seqs}))


if __name__ == "__main__":
    main(*sys.argv[1:])
