"""The fleet's aggregates: overview counters, flows per minute, nodes, models, attack graph."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from contracts.events import AttackFamily, Severity
from hub.api.models.base import ApiModel

IsoMinute = Annotated[str, Field(description="The minute's start, ISO 8601 UTC")]


class FamilyCount(ApiModel):
    minute: IsoMinute
    family: AttackFamily
    count: int


class HostCount(ApiModel):
    host: str
    count: int


class Overview(ApiModel):
    flows_total: int
    anomalies_total: int
    classifications_total: int
    alerts_open: Annotated[int, Field(description="Open incidents no suppression marked")]
    alerts_suppressed: Annotated[
        int, Field(description="Open incidents an active suppression marked (not in alerts_open)")
    ]
    nodes_online: int
    nodes_total: int
    attacks_per_minute: list[FamilyCount]
    top_attacked_hosts: list[HostCount]
    events_per_second: float


class FlowMinute(ApiModel):
    minute: IsoMinute
    node_id: str
    flows: int
    packets: int
    bytes: float


class FlowStats(ApiModel):
    items: list[FlowMinute]


class NodeItem(ApiModel):
    """A sensor's last status, with ``online`` judged by the hub (heartbeat age)."""

    node_id: str
    online: bool
    last_seen: Annotated[str, Field(description="The last status's timestamp, ISO 8601")]
    packets_per_s: float
    flows_total: int
    anomalies_total: int
    outbox_depth: int
    model_version: str | None
    drops: dict[str, int]
    agent_version: str
    reason: Literal["heartbeat", "startup", "shutdown", "last_will"]
    baseline: Annotated[
        Literal["learning", "ready", "off"] | None,
        Field(
            description="The node's own benign baseline: learning (no novelty verdicts), ready or off"
        ),
    ]
    baseline_progress: float | None


class NodeList(ApiModel):
    items: list[NodeItem]


class ModelItem(ApiModel):
    model_name: str
    version: int
    sha256: str
    size_bytes: int
    key_id: str
    ts: str
    nodes: Annotated[list[str], Field(description="The nodes that run this version")]


class ModelList(ApiModel):
    items: list[ModelItem]


class GraphNode(ApiModel):
    id: str
    type: Literal["host", "sensor"]
    attacked: bool
    compromised: bool
    predicted_probability: float | None


class GraphEdge(ApiModel):
    source: str
    target: str
    flows: int
    attack_family: AttackFamily | None


class SensorLink(ApiModel):
    """A sensor and a host it saw as the source of flows (where the sensor sits in the graph)."""

    sensor: str
    host: str
    flows: int


class GraphPrediction(ApiModel):
    target_host: str
    probability: float
    severity: Severity
    path: list[str]


class Graph(ApiModel):
    nodes: list[GraphNode]
    sensor_links: list[SensorLink]
    edges: list[GraphEdge]
    predictions: list[GraphPrediction]
