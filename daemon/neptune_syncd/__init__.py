"""neptune-syncd: the sync daemon that replays operation logs to the store (docs/daemon.md)."""
