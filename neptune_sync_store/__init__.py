"""The neptune-sync store server: ingests operation-log batches from the sync daemon and serves them back.

::

    app         the aiohttp application: routes, JSON error middleware, body limit
    context     what handlers share (config, storage, auth, blobs, in-flight slots) and response helpers
    ingest      POST /v1/batches and GET /v1/acked (the sync protocol, docs/sync-protocol.md)
    blobs       blob endpoints over blob_backends: content-addressed, resumable, sha256-verified uploads
    blob_backends/  where blob bytes live: one interface, two backends: local (default) and s3 (aiobotocore)
    reads       the read API (run, structure, values, series pages, file, runs table)
    auth        per-project tokens with read / write scopes, stored hashed
    validation  pure checks of incoming batches (paths, file names, hashes)
    plan        pure application of entries to field state: type rules, idempotency by seq
    query       pure runs-table filtering and sorting
    storage/    one interface, two backends: sqlite (default) and postgres (asyncpg)
    errors      the HTTP-facing errors (StoreError subclasses carrying status and code)
    config      StoreConfig; server: run one as a context manager; testing: running_store()
    cli         ``neptune-sync server`` and ``neptune-sync server token create``; workers: ``--workers N``
    s3_testing  SeaweedFS's ``weed mini`` on loopback, for tests and benchmarks

Nothing here is imported by the training library (``neptune_sync``); aiohttp, asyncpg and aiobotocore stay here.
"""
