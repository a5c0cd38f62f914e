"""A training process for the torture suite: logs a random mix of calls through the public API and
journals each one (torture_journal) just before making it.

Usage: torture_child.py SPEC_JSON. The spec: ``journal``, ``project``, ``custom_run_id`` (one run,
resumed when its directory exists) or ``runs`` (custom run ids logged one after the other, each
with the same ``calls``), ``rank`` (rank 0 sets ``params/note`` and logs ``series/shared`` at steps
``step_base + i``; concurrent writers of a run share only ``sys/tags`` and ``sys/state``, so the
expected store holds under any merge of writers that keeps each one's order and time: which of
two concurrent points on one series survives is left to the sync protocol's own tests),
``tag`` (this process' own paths), ``seed``,
``calls`` (-1: until killed), ``segment_size``, ``upload_sizes`` (sizes of the files it uploads),
``upload_every``, ``scratch`` (false: never delete a field), ``workdir`` (for the files it uploads), ``pace`` (seconds to sleep every 100 calls), ``stop``
(call ``run.stop()`` at the end).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import random
import sys
import time
from pathlib import Path

from torture_journal import Journal

import neptune_sync as neptune
from neptune_sync.oplog.writer import OpLogWriter


class Logger:
    def __init__(self, spec: dict, journal: Journal) -> None:
        self.spec = spec
        self.journal = journal
        self.rng = random.Random(spec["seed"])
        self.tag = spec["tag"]
        self.rank = spec.get("rank", 0)
        self.base = spec.get("step_base", 0)
        self.workdir = Path(spec["workdir"])
        self.uploads = 0
        self.tags: list[str] = []  # added by this process, not removed yet
        self.scratch_gen = self.scratch_step = 0

    def open(self, custom_run_id: str):
        self.journal.call("init", custom_run_id)
        writer = functools.partial(OpLogWriter, segment_size=self.spec.get("segment_size", 64 << 10))
        run = neptune.init_run(
            project=self.spec["project"], custom_run_id=custom_run_id, mode="offline", writer_factory=writer
        )
        if self.rank == 0:
            self.journal.call("a", "params/note", self.tag)
            run["params/note"] = self.tag
        return run

    def one_call(self, run, i: int) -> None:
        r = self.rng.random()
        every = self.spec.get("upload_every", 0)
        if every and i % every == every - 1:
            self.upload(run)
        elif r < 0.55 and self.rank == 0:
            step, value = self.base + i, self.rng.uniform(-1e6, 1e6)
            self.journal.call("p", "series/shared", step, value)
            run["series/shared"].append(value, step=step)
        elif r < 0.88:
            path, value = f"series/{self.tag}", self.rng.random()
            self.journal.call("p", path, i, value)
            run[path].append(value, step=i)
        elif r < 0.92:
            path, text = f"log/{self.tag}", f"line {i} of {self.tag}"
            self.journal.call("s", path, i, text)
            run[path].append(text, step=i)
        elif r < 0.95:
            path = f"params/{self.tag}/counter"
            self.journal.call("a", path, i)
            run[path] = i
        elif r < 0.97 or not self.tags:
            self.tags.append(f"{self.tag}-{i}")
            self.journal.call("tag", self.tags[-1])
            run["sys/tags"].add(self.tags[-1])
        elif r < 0.98:
            tag = self.tags.pop(self.rng.randrange(max(0, len(self.tags) - 5), len(self.tags)))  # a recent one
            self.journal.call("untag", tag)
            run["sys/tags"].remove(tag)
        elif self.spec.get("scratch", True):
            self.scratch(run)

    def scratch(self, run) -> None:
        """A series deleted now and then and logged again from step 0 with new values (a re-sent
        batch from before the delete would bring old points back)."""
        path = f"scratch/{self.tag}"
        if self.scratch_step and self.rng.random() < 0.1:
            self.journal.call("del", path)
            del run[path]
            self.scratch_gen, self.scratch_step = self.scratch_gen + 1, 0
            return
        value = self.scratch_gen * 1e6 + self.scratch_step
        self.journal.call("p", path, self.scratch_step, value)
        run[path].append(value, step=self.scratch_step)
        self.scratch_step += 1

    def upload(self, run) -> None:
        sizes = self.spec["upload_sizes"]
        size = sizes[self.uploads % len(sizes)]
        data = self.rng.randbytes(size)
        source = self.workdir / f"{self.tag}-{self.uploads}.bin"
        source.write_bytes(data)
        path = f"files/{self.tag}/u{self.uploads}"
        self.uploads += 1
        self.journal.call("up", path, hashlib.sha256(data).hexdigest(), size)
        run[path].upload(str(source))

    def log(self, custom_run_id: str) -> None:
        run = self.open(custom_run_id)
        calls = self.spec["calls"]
        pace = self.spec.get("pace", 0.0)
        for i in itertools.count() if calls < 0 else range(calls):
            self.one_call(run, i)
            if pace and i % 100 == 99:
                time.sleep(pace)
        if self.spec.get("stop", True):
            self.journal.call("stop")
            run.stop()


def main(spec_json: str) -> None:
    spec = json.loads(spec_json)
    journal = Journal(spec["journal"])
    logger = Logger(spec, journal)
    for custom_run_id in spec.get("runs") or [spec["custom_run_id"]]:
        try:
            logger.log(custom_run_id)
        except BaseException:
            journal.call("stop")  # the run is stopped at exit (atexit), as training code's would be
            raise
        logger.rng = random.Random(spec["seed"])  # every run of a multi-run spec logs the same calls
        logger.uploads, logger.tags, logger.scratch_gen, logger.scratch_step = 0, [], 0, 0
    journal.call("end")


if __name__ == "__main__":
    main(sys.argv[1])
