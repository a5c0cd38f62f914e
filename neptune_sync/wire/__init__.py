"""The contracts the client, the sync daemon and the store share, each a versioned page in docs/.

- :mod:`.ops`: operation records and :class:`~.ops.Entry` (docs/oplog-format.md)
- :mod:`.protocol`: the daemon <-> store batch protocol and the read API's bodies
  (docs/sync-protocol.md, docs/openapi.yaml)
- :mod:`.token`: the API token format
- :mod:`.sync_state`: a run's sync state file, which the daemon writes and clients read (docs/daemon.md)
- :mod:`.daemon`: the data dir's daemon lock and the daemon's config location (docs/daemon.md)

Stdlib + msgspec only, and nothing is imported here, so a process loads only the contracts it uses.
"""
