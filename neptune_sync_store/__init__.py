"""The neptune-sync store server: ingests operation-log batches from the sync daemon and serves them back.

::

    app         the aiohttp application: routes, error and auth middlewares, limits
    ingest      POST /v1/batches and GET /v1/acked (the sync protocol, docs/sync-protocol.md)
    blobs       content-addressed blob store with resumable, sha256-verified uploads
    reads       the read API (run structure, values, series pages, runs table)
    auth        per-project tokens with read / write scopes, stored hashed
    validation  pure checks of incoming batches (paths, file names, hashes)
    plan        pure application of entries to field state: type rules, idempotency by seq
    query       pure runs-table filtering and sorting
    storage/    one interface, two backends: sqlite (default) and postgres (asyncpg)
    server      starting and stopping the service; testing: an in-process store for tests

Nothing here is imported by the training library (``neptune_sync``); aiohttp and asyncpg stay here.
"""
