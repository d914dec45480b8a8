"""The bridge process's settings (environment prefix ``FEDNIDS_BRIDGE_``; CLI flags override)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class BridgeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FEDNIDS_BRIDGE_", extra="ignore")

    mqtt_url: str = "mqtt://127.0.0.1:1883"
    kafka_url: str = "kafka://127.0.0.1:9092"
    group: str = "bridge"
    client_id: str = "bridge-1"
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    mqtt_password: SecretStr | None = None
    max_inflight: int = Field(2000, ge=1)
    metrics_port: int | None = None
    session_expiry_s: int = Field(7 * 24 * 3600, ge=0)
    """How long the broker keeps this bridge's session (and queues for it) while it is away."""
