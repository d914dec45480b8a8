"""Settings of the hub processes (environment prefix ``FEDNIDS_HUB_``; CLI flags override)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class HubSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FEDNIDS_HUB_", extra="ignore")

    db_url: str = "sqlite:///fednids.db"
    kafka_url: str = "kafka://127.0.0.1:9092"
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    offline_after_s: float = Field(30.0, gt=0)
    """A node without a heartbeat for this long is shown offline (3 x the default heartbeat)."""
    ws_queue: int = Field(1000, ge=10)
    static_dir: str | None = None
    """A built dashboard to serve at ``/`` (the demo serves API and dashboard on one port)."""
    intel_status: str | None = None
    """The threat-intel status file ``GET /api/intel`` lists (``<bundle>.status.json``)."""
