"""Regenerate neptune1_async/ with the real neptune 1.x async queue (not run by the tests).

The service is gone, so the client's own AsyncOperationProcessor runs against a stand-in backend
that accepts the first batch (the client acknowledges it: last_ack_version) and then stops
answering; the process then dies without cleanup (os._exit), as a killed training job would.

    cd /tmp/neptune1-async-gen && /tmp/nep1/bin/python .../make_neptune1_async_fixture.py
    then copy .neptune/ to tests/importers/data/neptune1_async/
"""

import os
import threading
import time
from queue import Queue

from neptune.internal.container_type import ContainerType
from neptune.internal.operation import AssignString, LogFloats
from neptune.internal.operation_processors.async_operation_processor import AsyncOperationProcessor

CONTAINER_ID = "6f1c9a52-8d2e-4b7a-9c3e-1a2b3c4d5e6f"
accepting = threading.Event()
accepting.set()


class StandInBackend:
    def execute_operations(self, container_id, container_type, operations, operation_storage):
        if not accepting.is_set():
            time.sleep(3600)  # the service stopped answering
        return len(operations), []


processor = AsyncOperationProcessor(
    CONTAINER_ID, ContainerType.RUN, StandInBackend(), threading.RLock(), Queue(), sleep_time=0.05
)
processor.start()
processor.enqueue_operation(AssignString(["sys", "name"], "async-fixture"), wait=False)
for step in range(10):
    point = LogFloats.ValueType(1.0 / (step + 1), step, time.time())
    processor.enqueue_operation(LogFloats(["train", "loss"], [point]), wait=False)
processor.wait()  # everything so far is acknowledged by the stand-in service
accepting.clear()
for step in range(10, 25):
    point = LogFloats.ValueType(1.0 / (step + 1), step, time.time())
    processor.enqueue_operation(LogFloats(["train", "loss"], [point]), wait=False)
processor.enqueue_operation(AssignString(["status"], "pending"), wait=False)
time.sleep(0.5)
processor._queue.flush()
os._exit(0)
