"""Event models: one pydantic v2 model per message kind on the wire.

Every event shares the envelope :class:`EventBase` (``schema_version``, ``event_id``,
``node_id``, ``ts`` in UTC, and a ``kind`` discriminator). Models are strict and frozen:
unknown fields, wrong types and naive timestamps are rejected.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from contracts.features import FLOW_FEATURES
from contracts.topics import NODE_ID_PATTERN

SCHEMA_VERSION: Literal[1] = 1
MAX_BATCH_EVENTS = 5000

MAX_EPOCH = 4_102_444_800.0
"""2100-01-01: no time a sensor sends may lie past it (a far-future time once blinded the hub)."""
MAX_FEATURE = 1e15
"""No flow feature (bytes, rates, counts) may exceed this in absolute value."""
MAX_PACKETS = 1e9
"""Packets (and per-flag counts) in one flow: far beyond what one flow between active timeouts
carries on any link a sensor watches; the store's columns are sized for it."""
COUNT_FEATURES = (
    "fwd_packets",
    "bwd_packets",
    "fwd_payload_packets",
    "fin_count",
    "syn_count",
    "rst_count",
    "psh_count",
    "ack_count",
    "urg_count",
    "ece_cwr_count",
)
_NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
NodeId = Annotated[str, StringConstraints(pattern=NODE_ID_PATTERN)]
HostAddr = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=_NO_CONTROL)]
ShortText = Annotated[str, StringConstraints(max_length=200, pattern=_NO_CONTROL)]
EpochS = Annotated[float, Field(ge=0, le=MAX_EPOCH)]
Bounded = Annotated[float, Field(ge=-1e12, le=1e12)]
Port = Annotated[int, Field(ge=0, le=65535)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Severity = Literal["info", "low", "medium", "high", "critical"]
AttackFamily = Literal["benign", "dos", "scan", "bruteforce", "botnet", "web", "other"]
ATTACK_FAMILIES: tuple[str, ...] = get_args(AttackFamily)
SEVERITIES: tuple[str, ...] = get_args(Severity)
EvidenceValue = float | int | str | bool | None
Detector = Literal["lstm", "rules", "novelty", "iforest"]
"""Edge: lstm (TFLite autoencoder), rules, novelty (per-flow benign range); hub: iforest."""
DETECTORS: tuple[str, ...] = get_args(Detector)
"""Every detector name, in one place: import this, never copy the list."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class EventBase(BaseModel):
    """The envelope every event carries."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    schema_version: Literal[1] = SCHEMA_VERSION
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    node_id: NodeId
    ts: AwareDatetime = Field(default_factory=utcnow)

    @field_validator("ts")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)


class FlowRecord(EventBase):
    """One finished (or exported) bidirectional flow: the ``network_data`` topic."""

    kind: Literal["flow"] = "flow"
    flow_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    src_ip: HostAddr
    dst_ip: HostAddr
    src_port: Port
    dst_port: Port
    proto: Annotated[int, Field(ge=0, le=255)]
    start_ts: EpochS
    end_ts: EpochS
    end_reason: Literal["fin", "rst", "idle", "active", "evicted", "flush"]
    feature_version: Literal[1] = 1
    features: Annotated[
        list[float], Field(min_length=len(FLOW_FEATURES), max_length=len(FLOW_FEATURES))
    ]
    label: Annotated[str, StringConstraints(max_length=64)] | None = None
    """Ground truth, only from the simulator or a labelled replay; never used by detectors."""

    @model_validator(mode="after")
    def _check_times(self) -> FlowRecord:
        if self.end_ts < self.start_ts:
            raise ValueError("end_ts is before start_ts")
        for v in self.features:
            if not -MAX_FEATURE <= v <= MAX_FEATURE:
                raise ValueError(f"a feature value {v!r} is out of range (|x| <= {MAX_FEATURE:g})")
        from contracts.features import FEATURE_INDEX

        for name in COUNT_FEATURES:
            v = self.features[FEATURE_INDEX[name]]
            if not 0 <= v <= MAX_PACKETS:
                raise ValueError(f"{name} = {v!r} is out of range (0..{MAX_PACKETS:g})")
        return self

    def feature(self, name: str) -> float:
        from contracts.features import FEATURE_INDEX

        return self.features[FEATURE_INDEX[name]]


class AnomalyEvent(EventBase):
    """A detector's verdict that something is anomalous: the ``anomalies`` topic."""

    kind: Literal["anomaly"] = "anomaly"
    detector: Detector
    rule_id: Annotated[str, StringConstraints(max_length=64, pattern=_NO_CONTROL)] | None = None
    score: Bounded
    threshold: Bounded
    severity: Severity = "medium"
    flow_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    src_ip: HostAddr | None = None
    dst_ip: HostAddr | None = None
    dst_port: Port | None = None
    window_start: EpochS | None = None
    window_end: EpochS | None = None
    model_version: ShortText | None = None
    family: AttackFamily | None = None
    """The attack family the detector attributes the verdict to (a rule carries its family);
    None for unsupervised detectors, which only say "unusual"."""
    evidence: Annotated[dict[str, EvidenceValue], Field(max_length=64)] = Field(
        default_factory=dict
    )


class FeatureContribution(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    name: ShortText
    value: float
    contribution: float


class AttackClassification(EventBase):
    """The hub's classification of an anomalous flow / host window: ``attack_classified``."""

    kind: Literal["classification"] = "classification"
    family: AttackFamily
    confidence: Probability
    probabilities: dict[AttackFamily, Probability] = Field(default_factory=dict)
    detectors: Annotated[list[Detector], Field(max_length=4)] = Field(default_factory=list)
    rule_ids: Annotated[list[ShortText], Field(max_length=32)] = Field(default_factory=list)
    top_features: Annotated[list[FeatureContribution], Field(max_length=16)] = Field(
        default_factory=list
    )
    flow_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    src_ip: HostAddr | None = None
    dst_ip: HostAddr | None = None
    dst_port: Port | None = None
    anomaly_ids: Annotated[list[uuid.UUID], Field(max_length=64)] = Field(default_factory=list)


class AttackPrediction(EventBase):
    """A host predicted to be attacked or compromised next: ``attack_predicted``."""

    kind: Literal["prediction"] = "prediction"
    target_host: HostAddr
    probability: Probability
    severity: Severity
    family: AttackFamily
    path: Annotated[list[HostAddr], Field(max_length=16)] = Field(default_factory=list)
    """Hosts from a known-compromised source to the target, for the operator's 'why'."""
    horizon_s: Annotated[float, Field(gt=0)] = 300.0
    predictor: Literal["gnn", "heuristic"] = "gnn"
    model_version: ShortText | None = None
    source_ids: Annotated[list[uuid.UUID], Field(max_length=64)] = Field(default_factory=list)


class AlertEvent(EventBase):
    """An incident for operators, deduplicated by ``incident_key``: ``alerts``."""

    kind: Literal["alert"] = "alert"
    incident_key: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    severity: Severity
    title: ShortText
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    family: AttackFamily = "other"
    status: Literal["open", "acknowledged", "resolved"] = "open"
    count: Annotated[int, Field(ge=1)] = 1
    first_seen: AwareDatetime = Field(default_factory=utcnow)
    last_seen: AwareDatetime = Field(default_factory=utcnow)
    hosts: Annotated[list[HostAddr], Field(max_length=64)] = Field(default_factory=list)
    escalated: bool = False
    related_ids: Annotated[list[uuid.UUID], Field(max_length=64)] = Field(default_factory=list)
    attackers: Annotated[list[HostAddr], Field(max_length=16)] = Field(default_factory=list)
    """Hosts the incident names as the source of the attack (empty for a spoofed flood)."""
    targets: Annotated[list[HostAddr], Field(max_length=16)] = Field(default_factory=list)
    """Hosts the incident names as attacked."""
    detectors: Annotated[list[ShortText], Field(max_length=8)] = Field(default_factory=list)
    """Detectors that agreed (``rules``, ``novelty``, ``lstm``, ``iforest``, ``classifier``...)."""
    rule_ids: Annotated[list[ShortText], Field(max_length=16)] = Field(default_factory=list)
    nodes: Annotated[list[NodeId], Field(max_length=16)] = Field(default_factory=list)
    """Sensors that reported the evidence."""
    evidence: Annotated[dict[str, EvidenceValue], Field(max_length=32)] = Field(
        default_factory=dict
    )
    event_first_ts: EpochS | None = None
    """Event (capture) time of the first detection in the incident, epoch seconds: for a
    replay, the capture's clock, so time-to-alert is measured in capture time."""
    event_last_ts: EpochS | None = None


class FLEvent(EventBase):
    """A federated-learning round's metrics from the server or one client: ``fl_events``."""

    kind: Literal["fl"] = "fl"
    role: Literal["server", "client"]
    round: Annotated[int, Field(ge=0)]
    phase: Literal["fit", "evaluate", "aggregate", "budget_exhausted", "model_published"]
    loss: float | None = None
    participants: Annotated[int, Field(ge=0)] | None = None
    samples: Annotated[int, Field(ge=0)] | None = None
    duration_s: Annotated[float, Field(ge=0)] | None = None
    epsilon: Annotated[float, Field(ge=0)] | None = None
    delta: Annotated[float, Field(ge=0, le=1)] | None = None
    budget_epsilon: Annotated[float, Field(ge=0)] | None = None
    budget_left: float | None = None
    model_version: ShortText | None = None
    metrics: Annotated[dict[str, float], Field(max_length=64)] = Field(default_factory=dict)


class NodeStatus(EventBase):
    """An agent's heartbeat, or its last will (``online`` false): ``node_status``."""

    kind: Literal["status"] = "status"
    online: bool
    reason: Literal["heartbeat", "startup", "shutdown", "last_will"] = "heartbeat"
    uptime_s: Annotated[float, Field(ge=0)] = 0.0
    packets_per_s: Annotated[float, Field(ge=0)] = 0.0
    flows_total: Annotated[int, Field(ge=0)] = 0
    anomalies_total: Annotated[int, Field(ge=0)] = 0
    outbox_depth: Annotated[int, Field(ge=0)] = 0
    model_version: ShortText | None = None
    drops: Annotated[dict[str, int], Field(max_length=32)] = Field(default_factory=dict)
    agent_version: ShortText = ""
    source: ShortText = ""
    baseline: Literal["learning", "ready", "off"] | None = None
    """The node's own benign baseline: still learning (no novelty verdicts yet), ready, off."""
    baseline_progress: Probability | None = None
    """How far the learning period is (0..1)."""


class ModelAnnouncement(EventBase):
    """A signed model version, retained on MQTT for every agent: ``models``."""

    kind: Literal["model"] = "model"
    model_name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,64}$")] = "lstm-ae"
    version: Annotated[int, Field(ge=1)]
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    size_bytes: Annotated[int, Field(ge=1)]
    payload_b64: Annotated[str, StringConstraints(max_length=190_000)] | None = None
    """The ``.tflite`` file itself (small int8 models fit); else fetch from ``url``."""
    url: Annotated[str, StringConstraints(max_length=500)] | None = None
    metadata: Annotated[dict[str, Any], Field(max_length=64)] = Field(default_factory=dict)
    key_id: Annotated[str, StringConstraints(max_length=64)]
    signature_b64: Annotated[str, StringConstraints(max_length=200)]
    """ed25519 over :meth:`signed_bytes`."""

    def signed_bytes(self) -> bytes:
        """The bytes the hub signs: name, version, the model's digest and size, and the
        digest of the canonical metadata JSON (scaler, threshold, features), unambiguous."""
        meta = json.dumps(self.metadata, sort_keys=True, separators=(",", ":")).encode()
        return (
            f"fednids-model\n{self.model_name}\n{self.version}\n{self.sha256}\n"
            f"{self.size_bytes}\n{hashlib.sha256(meta).hexdigest()}"
        ).encode()


Event = Annotated[
    FlowRecord
    | AnomalyEvent
    | AttackClassification
    | AttackPrediction
    | AlertEvent
    | FLEvent
    | NodeStatus
    | ModelAnnouncement,
    Field(discriminator="kind"),
]

EVENT_TYPES: dict[str, type[EventBase]] = {
    "flow": FlowRecord,
    "anomaly": AnomalyEvent,
    "classification": AttackClassification,
    "prediction": AttackPrediction,
    "alert": AlertEvent,
    "fl": FLEvent,
    "status": NodeStatus,
    "model": ModelAnnouncement,
}


class EventBatch(BaseModel):
    """Many events in one message (an agent batches its flow records every ~100 ms)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    schema_version: Literal[1] = SCHEMA_VERSION
    kind: Literal["batch"] = "batch"
    node_id: NodeId
    events: Annotated[list[Event], Field(min_length=1, max_length=MAX_BATCH_EVENTS)]

    @model_validator(mode="after")
    def _same_node(self) -> EventBatch:
        for ev in self.events:
            if ev.node_id != self.node_id:
                raise ValueError(
                    f"event {ev.event_id} has node_id {ev.node_id!r}, batch has {self.node_id!r}"
                )
        return self
