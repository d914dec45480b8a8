"""Settings of the analytics service processes (``FEDNIDS_SERVICES_*``), read in entry points."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.paths import artifact_dir


class ServicesSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FEDNIDS_SERVICES_", extra="ignore")

    kafka_url: str = "kafka://127.0.0.1:9092"
    batch: int = Field(2000, ge=1, le=100_000)
    iforest_model: Path = artifact_dir("iforest")
    iforest_learn_flows: int = Field(2000, ge=0, le=1_000_000)
    """each node's learning period in flows (0: off, the shipped model scores every node)"""
    iforest_max_nodes: int = Field(256, ge=1, le=100_000)
    """nodes with a baseline of their own; later nodes fall back to the shipped model"""
    iforest_trim: float = Field(0.05, ge=0.0, lt=0.5)
    """share of the most isolated learning flows left out of a node's fit"""
    iforest_quantile: float = Field(0.99, gt=0.5, lt=1.0)
    """a node's threshold: this quantile of its held-out learning flows' scores"""
    iforest_range_guard: bool = True
    """a node's model also flags flows far past its learned range in any feature"""
    iforest_state_dir: Path | None = None
    """where per-node baselines are kept across restarts (None: in memory, relearnt)"""
    classifier_model: Path = artifact_dir("classifier")
    gnn_model: Path = artifact_dir("gnn")
    join_hold_s: float = Field(5.0, gt=0)
    join_grace_s: float = Field(2.0, ge=0)
    """processing-time wait for votes read after their flows (topics are not ordered)"""
    predict_every_s: float = Field(10.0, gt=0)
    top_k: int = Field(5, ge=1, le=50)
    gnn_min_p: float = Field(0.5, ge=0, le=1)
    """calibrated probability from which the GNN publishes a prediction"""
    gnn_window_s: float = Field(900.0, gt=0)
    """event-time window of the host graph"""
    gnn_horizon_s: float = Field(300.0, gt=0)
    """event-time horizon of a prediction (the same host is not predicted again sooner)"""
    # alerting (hub/services/alerting: the grouping policy is in its docstring)
    alert_update_every_s: float = Field(30.0, gt=0)
    """processing-time seconds between count-only updates of one incident"""
    alert_quiet_s: float = Field(600.0, gt=0)
    """event-time seconds without a detection that close an incident"""
    alert_min_severity: Literal["info", "low", "medium", "high", "critical"] = "medium"
    """a rule detection with a family opens an incident from this severity on"""
    alert_corroborate_s: float = Field(60.0, gt=0)
    """event-time window in which unsupervised detections of one host corroborate each other"""
    alert_corroborate_detectors: int = Field(2, ge=1, le=4)
    alert_corroborate_flows: int = Field(3, ge=1, le=64)
    alert_solo_severity: Literal["info", "low", "medium", "high", "critical"] = "critical"
    """one unsupervised detection this severe opens an incident alone"""
    alert_fanin_sources: int = Field(20, ge=2, le=256)
    """distinct sources on one target that fold into one incident about the target"""
    alert_classified_open_confidence: float = Field(0.9, ge=0.0, le=1.0)
    alert_max_open: int = Field(1000, ge=1, le=100_000)
