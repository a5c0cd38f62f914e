"""Importers: bring data written by other tools into our operation log.

- :mod:`.neptune1_queue` reads neptune 1.x ``.neptune/{offline,async}`` disk queues;
  :mod:`.neptune1_ops` converts their operations to ours; :mod:`.neptune1` drives an import.
- :mod:`.exporter` reads the Parquet files of Neptune's official exporter (needs ``pyarrow``).
- :mod:`.rules` the value rules every importer applies; :mod:`.target` writes one import into a
  run directory, atomically and idempotently; :mod:`.report` says what happened.

Everything here runs from the ``neptune-sync import`` command, never in the training process.
"""
