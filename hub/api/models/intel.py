"""The threat-intel status the dashboard lists: the indicator bundle's sources, counts by type,
each source's last import and the last publication to the fleet (``hub.intel``'s status file)."""

from __future__ import annotations

from pydantic import Field

from hub.api.models.base import ApiModel


class IntelCount(ApiModel):
    key: str
    """An indicator type (``ipv4``, ``domain``...) or a source name."""
    count: int


class IntelSource(ApiModel):
    name: str
    imported_at: str | None
    """ISO 8601, UTC: the last import of this source."""
    formats: list[str]
    parsed: int
    """Indicators parsed from its files at the last import."""
    indicators: int
    """Indicators of this source in the current bundle."""


class IntelPublication(ApiModel):
    version: int
    at: str
    """ISO 8601, UTC."""
    parts: int
    size_bytes: int
    key_id: str | None


class IntelStatus(ApiModel):
    """Empty (``configured`` false, or ``error`` set) when the hub has no readable status: the
    route never fails because of it."""

    configured: bool
    """``FEDNIDS_HUB_INTEL_STATUS`` names a status file."""
    error: str | None
    version: int | None
    created_at: float | None
    expires_at: float | None
    """Epoch seconds of the current bundle."""
    count: int
    by_type: list[IntelCount]
    sources: list[IntelSource]
    dropped: list[IntelCount] = Field(description="Indicators dropped by the last merge, by why")
    published: IntelPublication | None
