"""Kafka topic names and MQTT topic templates: the one registry of both."""

from __future__ import annotations

import re
from enum import StrEnum


class KafkaTopic(StrEnum):
    NETWORK_DATA = "network_data"
    ANOMALIES = "anomalies"
    ATTACK_CLASSIFIED = "attack_classified"
    ATTACK_PREDICTED = "attack_predicted"
    ALERTS = "alerts"
    FL_EVENTS = "fl_events"
    NODE_STATUS = "node_status"
    ASSETS = "assets"
    """Passive device inventory: what each sensor learned about the devices it sees."""
    MODELS = "models"
    DEAD_LETTER = "dead_letter"


class MqttKind(StrEnum):
    """The last level of an agent's MQTT topic ``fednids/v1/{node_id}/{kind}``."""

    FLOWS = "flows"
    ANOMALIES = "anomalies"
    STATUS = "status"
    FL = "fl"
    ASSETS = "assets"


MQTT_PREFIX = "fednids/v1"
MQTT_MODEL_TOPIC = f"{MQTT_PREFIX}/model/current"
"""Retained model announcement that every agent reads (and may not write)."""
MQTT_INTEL_TOPIC = f"{MQTT_PREFIX}/intel/manifest/current"
"""Retained signed manifest of the threat-intel indicator bundle (``contracts.indicator_wire``)
that every agent reads (and may not write); its parts are retained on :func:`mqtt_intel_part`.
Five levels, like the parts: never matched by the bridge's ``fednids/v1/+/+`` agent filter."""
MQTT_INTEL_PARTS = f"{MQTT_PREFIX}/intel/part/+"
"""The subscription filter of every part of the indicator bundle."""


def mqtt_intel_part(index: int) -> str:
    """The retained topic of part ``index`` of the indicator bundle (the manifest lists them)."""
    return f"{MQTT_PREFIX}/intel/part/{int(index)}"


NODE_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
FLEET_ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,62}$"
"""A fleet id (signed into model announcements, ``contracts.signing``)."""
_NODE_ID_RE = re.compile(NODE_ID_PATTERN)

_KIND_TO_KAFKA: dict[MqttKind, KafkaTopic] = {
    MqttKind.FLOWS: KafkaTopic.NETWORK_DATA,
    MqttKind.ANOMALIES: KafkaTopic.ANOMALIES,
    MqttKind.STATUS: KafkaTopic.NODE_STATUS,
    MqttKind.FL: KafkaTopic.FL_EVENTS,
    MqttKind.ASSETS: KafkaTopic.ASSETS,
}


def mqtt_topic(node_id: str, kind: MqttKind | str) -> str:
    """The MQTT topic an agent publishes ``kind`` on; rejects node ids that could escape it."""
    if not _NODE_ID_RE.match(node_id):
        raise ValueError(f"invalid node id {node_id!r}: must match {NODE_ID_PATTERN}")
    return f"{MQTT_PREFIX}/{node_id}/{MqttKind(kind).value}"


def mqtt_subscription(kind: MqttKind | str | None = None, share_group: str | None = None) -> str:
    """A subscription filter for every node's ``kind`` (or all kinds), optionally shared."""
    level = MqttKind(kind).value if kind is not None else "+"
    flt = f"{MQTT_PREFIX}/+/{level}"
    return f"$share/{share_group}/{flt}" if share_group else flt


def parse_mqtt_topic(topic: str) -> tuple[str, MqttKind]:
    """``fednids/v1/{node}/{kind}`` -> ``(node, kind)``; ``ValueError`` for anything else."""
    parts = topic.split("/")
    if len(parts) != 4 or "/".join(parts[:2]) != MQTT_PREFIX:
        raise ValueError(f"not an agent topic: {topic!r}")
    node_id, kind = parts[2], parts[3]
    if not _NODE_ID_RE.match(node_id):
        raise ValueError(f"invalid node id in topic: {topic!r}")
    try:
        return node_id, MqttKind(kind)
    except ValueError as exc:
        raise ValueError(f"unknown kind {kind!r} in topic {topic!r}") from exc


def kafka_topic_for(kind: MqttKind | str) -> KafkaTopic:
    """Where the bridge sends what arrives on an agent topic of this kind."""
    return _KIND_TO_KAFKA[MqttKind(kind)]


_EVENT_KIND_TO_KAFKA: dict[str, KafkaTopic] = {
    "flow": KafkaTopic.NETWORK_DATA,
    "anomaly": KafkaTopic.ANOMALIES,
    "classification": KafkaTopic.ATTACK_CLASSIFIED,
    "prediction": KafkaTopic.ATTACK_PREDICTED,
    "alert": KafkaTopic.ALERTS,
    "fl": KafkaTopic.FL_EVENTS,
    "status": KafkaTopic.NODE_STATUS,
    "model": KafkaTopic.MODELS,
    "asset": KafkaTopic.ASSETS,
}


def topic_for_event_kind(kind: str) -> KafkaTopic:
    """The Kafka topic an event of this ``kind`` lives on."""
    return _EVENT_KIND_TO_KAFKA[kind]


MQTT_EVIDENCE_REPLIES = f"{MQTT_PREFIX}/+/evidence/reply"
"""The hub's subscription to every node's packet-evidence answers (five levels: never matched
by the bridge's ``fednids/v1/+/+`` agent filter, so raw packets never reach Kafka)."""


def mqtt_evidence_request_topic(node_id: str) -> str:
    """``fednids/v1/{node}/cmd/evidence``: the hub writes, only that node reads."""
    return mqtt_topic(node_id, MqttKind.STATUS).rsplit("/", 1)[0] + "/cmd/evidence"


def mqtt_evidence_reply_topic(node_id: str) -> str:
    """``fednids/v1/{node}/evidence/reply``: only that node writes, the hub reads."""
    return mqtt_topic(node_id, MqttKind.STATUS).rsplit("/", 1)[0] + "/evidence/reply"


def parse_evidence_reply_topic(topic: str) -> str:
    """``fednids/v1/{node}/evidence/reply`` -> ``node``; ``ValueError`` for anything else."""
    parts = topic.split("/")
    if len(parts) != 5 or "/".join(parts[:2]) != MQTT_PREFIX or parts[3:] != ["evidence", "reply"]:
        raise ValueError(f"not an evidence reply topic: {topic!r}")
    if not _NODE_ID_RE.match(parts[2]):
        raise ValueError(f"invalid node id in topic: {topic!r}")
    return parts[2]
