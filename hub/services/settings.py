"""Settings of the analytics service processes (``FEDNIDS_SERVICES_*``), read in entry points."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

_ROOT = Path(__file__).resolve().parents[2]


class ServicesSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FEDNIDS_SERVICES_", extra="ignore")

    kafka_url: str = "kafka://127.0.0.1:9092"
    batch: int = Field(2000, ge=1, le=100_000)
    iforest_model: Path = _ROOT / "models" / "artifacts" / "iforest"
    classifier_model: Path = _ROOT / "models" / "artifacts" / "classifier"
    gnn_model: Path = _ROOT / "hub" / "services" / "artifacts" / "gnn"
    join_hold_s: float = Field(5.0, gt=0)
    join_grace_s: float = Field(2.0, ge=0)
    """processing-time wait for votes read after their flows (topics are not ordered)"""
    predict_every_s: float = Field(10.0, gt=0)
    top_k: int = Field(5, ge=1, le=50)
