"""The stages of a model version (neptune 1.x ``neptune.types.model_version_stage``)."""

from __future__ import annotations

import enum


class ModelVersionStage(str, enum.Enum):
    NONE = "none"
    STAGING = "staging"
    PRODUCTION = "production"
    ARCHIVED = "archived"
