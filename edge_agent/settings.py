"""The agent process's settings (environment prefix ``FEDNIDS_AGENT_``; CLI flags override)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.topics import FLEET_ID_PATTERN, NODE_ID_PATTERN


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
    outbox_durable: bool = True
    """``synchronous=FULL`` (each commit survives a power loss); ``False``: NORMAL, which
    survives ``kill -9`` but may lose the last commits on a power loss (faster on slow SD cards)."""
    heartbeat_s: float = Field(10.0, gt=0)
    batch_interval_s: float = Field(0.1, gt=0)
    rules_file: Path | None = None
    model_dir: Path | None = None
    model_public_keys: list[Path] = Field(default_factory=list)
    """Trusted model-signing public keys: with them (and ``model_dir``) the agent installs
    signed model updates from the retained MQTT model topic."""
    models_root: Path = Path("/var/lib/fednids/models")
    fleet_id: str | None = Field(None, pattern=FLEET_ID_PATTERN)
    """The fleet this node was provisioned for: models signed for another fleet are refused."""
    flow_store_path: Path | None = None
    """Keep recent flows here for federated training (never leaves the device)."""
    fine_tune_epochs: int = Field(3, ge=0, le=100)
    """After installing a global model (that ships its float weights), fine-tune it on this
    node's flow store for this many non-private epochs in a low-priority child process and
    run the result (``lstm-ae-N+node``; it never leaves the node). 0: off. Needs the flow
    store, and torch + TensorFlow for ``fine_tune_python`` (found out by running the job)."""
    fine_tune_python: str | None = None
    """The interpreter that runs the fine-tune job (default: the agent's own)."""
    fine_tune_timeout_s: float = Field(3600.0, gt=0)
    fine_tune_nice: int = Field(10, ge=0, le=19)
    fine_tune_root: Path | None = None
    """The node-local signing key and fine-tuned models; default beside the outbox,
    ``<outbox>.finetune/``."""
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
    community_id_seed: int = Field(0, ge=0, le=65535)
    """Seed of the Community ID on every flow and flow verdict (0: what every tool uses)."""
    l7: bool = True
    """Read DNS / TLS (JA4) / HTTP / SSH metadata from the first payload packets of flows."""
    inventory: bool = True
    """Passive device inventory (MAC, vendor, IPs, DHCP / mDNS / SSDP names, services),
    published on the ``assets`` topic when something changes (:mod:`edge_agent.inventory`)."""
    ioc: bool = True
    """Match flows against the hub's signed threat-intel bundle (detector ``ioc``); bundles are
    verified with ``model_public_keys`` (the hub signs both with its model-signing key)."""
    ioc_root: Path | None = None
    """The installed indicator bundle and the highest version ever installed (no rollback);
    default: beside the outbox, ``<outbox>.intel/``."""
    evidence_mb: float = Field(32.0, ge=0, le=4096)
    """Packet evidence: MiB of RAM for the ring of recent raw frames the hub may ask for
    (``contracts.evidence``); 0 turns packet evidence off."""
    evidence_per_minute: int = Field(6, ge=1, le=600)
    """Evidence requests answered per minute (the rest are refused)."""

    def baseline_file(self) -> Path:
        return self.baseline_path or baseline_beside(self.outbox_path)

    def fine_tune_dir(self) -> Path:
        return self.fine_tune_root or self.outbox_path.with_name(
            f"{self.outbox_path.stem}.finetune"
        )

    def ioc_dir(self) -> Path:
        return self.ioc_root or self.outbox_path.with_name(f"{self.outbox_path.stem}.intel")

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
