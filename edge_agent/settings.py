"""The agent process's settings (environment prefix ``FEDNIDS_AGENT_``; CLI flags override)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.topics import NODE_ID_PATTERN


class AgentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FEDNIDS_AGENT_", extra="ignore")

    node_id: str = Field(pattern=NODE_ID_PATTERN)
    source: str = "sim:mixed"
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    outbox_path: Path = Path("/var/lib/fednids/outbox.db")
    outbox_max_rows: int = Field(200_000, ge=1000)
    outbox_durable: bool = False
    heartbeat_s: float = Field(10.0, gt=0)
    batch_interval_s: float = Field(0.1, gt=0)
    rules_file: Path | None = None
    model_dir: Path | None = None
    model_public_keys: list[Path] = Field(default_factory=list)
    """Trusted model-signing public keys: with them (and ``model_dir``) the agent installs
    signed model updates from the retained MQTT model topic."""
    models_root: Path = Path("/var/lib/fednids/models")
    flow_store_path: Path | None = None
    """Keep recent flows here for federated training (never leaves the device)."""
    status_interval_s: float = Field(5.0, gt=0)
    max_packets: int | None = None
    baseline: bool = True
    """Learn this network's own benign baseline at first start (novelty detector)."""
    baseline_path: Path | None = None
    """Where the learned baseline is kept (default: beside the outbox, ``<outbox>.baseline.json``)."""
    learn_flows: int = Field(1000, ge=10, le=1_000_000)
    """The learning period lasts at least this many clean flows ..."""
    learn_hours: float = Field(24.0, ge=0, le=24 * 90)
    """... and at least this many hours of capture time."""

    def baseline_file(self) -> Path:
        return self.baseline_path or baseline_beside(self.outbox_path)

    @field_validator("mqtt_password")
    @classmethod
    def _no_placeholder(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and v.get_secret_value().lower() in {
            "",
            "changeme",
            "change-me",
            "password",
            "secret",
            "xxx",
        }:
            raise ValueError(
                "mqtt_password is a placeholder: set a real secret or use client certificates"
            )
        return v

    @field_validator("mqtt_url")
    @classmethod
    def _tls_for_remote(cls, v: str) -> str:
        if not v.startswith(("mqtt://", "mqtts://", "memory://")):
            raise ValueError("mqtt_url must start with mqtt://, mqtts:// or memory://")
        return v


def baseline_beside(outbox: Path) -> Path:
    """The default baseline file of the agent whose outbox is ``outbox``."""
    return outbox.with_name(f"{outbox.stem}.baseline.json")
