"""``neptune.internal.utils``: the argument checks neptune 1.x integrations (and transformers) import."""

from neptune_sync.integrations.utils import verify_collection_type, verify_type

__all__ = ["verify_collection_type", "verify_type"]
