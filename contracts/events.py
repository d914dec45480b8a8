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

from contracts.attack import MAX_TECHNIQUES, TECHNIQUE_PATTERN
from contracts.features import COUNT_FEATURES, FLOW_FEATURES
from contracts.flowmeta import CommunityId, DnsMeta, HttpMeta, SshMeta, TlsMeta
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
_NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
NodeId = Annotated[str, StringConstraints(pattern=NODE_ID_PATTERN)]
HostAddr = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=_NO_CONTROL)]
ShortText = Annotated[str, StringConstraints(max_length=200, pattern=_NO_CONTROL)]
TechniqueId = Annotated[str, StringConstraints(max_length=9, pattern=TECHNIQUE_PATTERN)]
"""A MITRE ATT&CK technique id (``T1046``, ``T1498.002``): :mod:`contracts.attack`."""
Techniques = Annotated[list[TechniqueId], Field(max_length=MAX_TECHNIQUES)]
EpochS = Annotated[float, Field(ge=0, le=MAX_EPOCH)]
Bounded = Annotated[float, Field(ge=-1e12, le=1e12)]
Port = Annotated[int, Field(ge=0, le=65535)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Severity = Literal["info", "low", "medium", "high", "critical"]
AttackFamily = Literal["benign", "dos", "scan", "bruteforce", "botnet", "web", "other"]
ATTACK_FAMILIES: tuple[str, ...] = get_args(AttackFamily)
SEVERITIES: tuple[str, ...] = get_args(Severity)
EvidenceValue = float | int | str | bool | None
Detector = Literal["lstm", "rules", "novelty", "iforest", "ioc"]
"""Edge: lstm (TFLite autoencoder), rules, novelty (per-flow benign range), ioc (a signed
threat-intel indicator matched, :mod:`contracts.indicators`); hub: iforest."""
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
    community_id: CommunityId | None = None
    """Community ID v1 of the 5-tuple (the key Zeek, Suricata and Security Onion share)."""
    dns: DnsMeta | None = None
    tls: TlsMeta | None = None
    http: HttpMeta | None = None
    ssh: SshMeta | None = None

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
    community_id: CommunityId | None = None
    """The Community ID of the flow the verdict is about (None for host-level verdicts)."""
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
    techniques: Techniques = Field(default_factory=list)
    """MITRE ATT&CK technique ids of the rule that fired (empty for unsupervised detectors)."""

    @classmethod
    def about_flow(cls, flow: FlowRecord, **fields: Any) -> AnomalyEvent:
        """A verdict about ``flow``: the sensor, the flow's id, hosts, port, time window and
        Community ID (the key a SOC joins on) come from the flow; ``fields`` say the rest (and
        may override those, e.g. the window of a beaconing verdict)."""
        of_flow: dict[str, Any] = {
            "node_id": flow.node_id,
            "flow_id": flow.flow_id,
            "community_id": flow.community_id,
            "src_ip": flow.src_ip,
            "dst_ip": flow.dst_ip,
            "dst_port": flow.dst_port,
            "window_start": flow.start_ts,
            "window_end": flow.end_ts,
        }
        return cls(**(of_flow | fields))


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
    techniques: Techniques = Field(default_factory=list)
    """MITRE ATT&CK technique ids: its rules' own, then its family's (:mod:`contracts.attack`)."""
    evidence: Annotated[dict[str, EvidenceValue], Field(max_length=32)] = Field(
        default_factory=dict
    )
    event_first_ts: EpochS | None = None
    """Event (capture) time of the first detection in the incident, epoch seconds: for a
    replay, the capture's clock, so time-to-alert is measured in capture time."""
    event_last_ts: EpochS | None = None
    suppressed_by: uuid.UUID | None = None
    """The id of the active suppression this incident matched (the hub marks it; it stays
    stored and listed behind a filter, and outputs skip it by default): never dropped."""


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


MAC_PATTERN = r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$"
MacAddr = Annotated[str, StringConstraints(pattern=MAC_PATTERN)]
"""A MAC address, lower case with colons (``b8:27:eb:12:34:56``)."""
AssetName = Annotated[str, StringConstraints(min_length=1, max_length=253, pattern=_NO_CONTROL)]
MAX_ASSET_IPS = 16
MAX_ASSET_NAMES = 16
MAX_ASSET_SERVICES = 32
MAX_DHCP_PRL = 64
AssetChange = Literal["new", "ip", "name", "service", "dhcp", "vendor"]


class AssetService(BaseModel):
    """A service a device offered: a TCP port it answered a SYN with a SYN-ACK on, or a UDP
    port it replied from."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    proto: Literal["tcp", "udp"]
    port: Port


class AssetRecord(EventBase):
    """What a sensor passively learned about one device (``edge_agent.inventory``): the
    ``assets`` topic, published when something changed. Keyed by ``mac`` (a device on the
    sensor's segment) or, with no MAC (routed / L3-only captures), by ``ip``. Lists hold what
    the sensor knows now (bounded: the newest are kept); the hub merges them."""

    kind: Literal["asset"] = "asset"
    mac: MacAddr | None = None
    ip: HostAddr | None = None
    """The key of an asset without a MAC; None when ``mac`` is set."""
    vendor: ShortText | None = None
    """The IEEE OUI registry's organisation for the MAC (None: unknown or a random MAC)."""
    ips: Annotated[list[HostAddr], Field(max_length=MAX_ASSET_IPS)] = Field(default_factory=list)
    hostname: AssetName | None = None
    """DHCP option 12 (host name)."""
    vendor_class: ShortText | None = None
    """DHCP option 60 (vendor class identifier, ``MSFT 5.0``, ``android-dhcp-14``)."""
    dhcp_prl: Annotated[
        list[Annotated[int, Field(ge=0, le=255)]], Field(max_length=MAX_DHCP_PRL)
    ] = Field(default_factory=list)
    """DHCP option 55 (parameter request list), in the client's order: an OS fingerprint."""
    mdns_names: Annotated[list[AssetName], Field(max_length=MAX_ASSET_NAMES)] = Field(
        default_factory=list
    )
    """Names the device announced over mDNS (A/AAAA owner, PTR target, SRV instance names)."""
    ssdp_server: ShortText | None = None
    """The SSDP ``SERVER`` header (UPnP devices: ``Linux/5.4 UPnP/1.0 MiniUPnPd/2.2``)."""
    ssdp_usn: Annotated[list[ShortText], Field(max_length=MAX_ASSET_NAMES)] = Field(
        default_factory=list
    )
    services: Annotated[list[AssetService], Field(max_length=MAX_ASSET_SERVICES)] = Field(
        default_factory=list
    )
    first_seen: EpochS
    last_seen: EpochS
    """Capture time (epoch seconds) of the first and the latest packet seen of the device."""
    changes: Annotated[list[AssetChange], Field(max_length=6)] = Field(default_factory=list)
    """What changed since the sensor last published the asset (``new`` the first time)."""

    @model_validator(mode="after")
    def _check_key(self) -> AssetRecord:
        if (self.mac is None) == (self.ip is None):
            raise ValueError("an asset is keyed by exactly one of mac and ip")
        if self.last_seen < self.first_seen:
            raise ValueError("last_seen is before first_seen")
        return self


Event = Annotated[
    FlowRecord
    | AnomalyEvent
    | AttackClassification
    | AttackPrediction
    | AlertEvent
    | FLEvent
    | NodeStatus
    | ModelAnnouncement
    | AssetRecord,
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
    "asset": AssetRecord,
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
