"""``FEDNIDS_HUB_EVIDENCE_*``: where the API's embedded evidence service connects and keeps
pcaps. Without ``FEDNIDS_HUB_EVIDENCE_MQTT_URL`` packet evidence is off (the routes say 503)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.transports import TransportOptions
from hub.evidence.reassembly import TIMEOUT_S
from hub.evidence.service import EvidenceService
from hub.evidence.store import EvidenceStore


class EvidenceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FEDNIDS_HUB_EVIDENCE_", extra="ignore")

    mqtt_url: str | None = None
    """The broker's service listener, e.g. ``mqtts://mosquitto:8884`` (identity ``hub``)."""
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    dir: Path = Path("evidence")
    max_mb: int = Field(1024, ge=1, le=1024 * 1024)
    """The evidence directory's bound: the oldest pcaps are deleted first."""
    timeout_s: float = Field(TIMEOUT_S, gt=0, le=3600)
    window_pad_s: float = Field(60.0, ge=0, le=3600)
    """Seconds added before and after an incident's span when asking for its packets."""


def service_from_env() -> EvidenceService | None:
    """The service the environment configures, or None (evidence off)."""
    s = EvidenceSettings()
    if not s.mqtt_url:
        return None
    opts = TransportOptions(ca_file=s.ca_file, cert_file=s.cert_file, key_file=s.key_file)
    store = EvidenceStore(s.dir, max_bytes=s.max_mb * 1024 * 1024)
    svc = EvidenceService(s.mqtt_url, store, opts, s.timeout_s)
    svc.window_pad_s = s.window_pad_s
    return svc
