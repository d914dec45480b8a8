"""Health and readiness."""

from __future__ import annotations

from typing import Literal

from hub.api.models.base import ApiModel


class Health(ApiModel):
    status: Literal["ok"]


class Ready(ApiModel):
    status: Literal["ready", "database unavailable"]
