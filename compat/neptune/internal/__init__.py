"""``neptune.internal``: the few internal names neptune 1.x integration packages import."""
