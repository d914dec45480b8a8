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
    MODELS = "models"
    DEAD_LETTER = "dead_letter"


class MqttKind(StrEnum):
    """The last level of an agent's MQTT topic ``fednids/v1/{node_id}/{kind}``."""

    FLOWS = "flows"
    ANOMALIES = "anomalies"
    STATUS = "status"
    FL = "fl"


MQTT_PREFIX = "fednids/v1"
MQTT_MODEL_TOPIC = f"{MQTT_PREFIX}/model/current"
"""Retained model announcement that every agent reads (and may not write)."""

NODE_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
_NODE_ID_RE = re.compile(NODE_ID_PATTERN)

_KIND_TO_KAFKA: dict[MqttKind, KafkaTopic] = {
    MqttKind.FLOWS: KafkaTopic.NETWORK_DATA,
    MqttKind.ANOMALIES: KafkaTopic.ANOMALIES,
    MqttKind.STATUS: KafkaTopic.NODE_STATUS,
    MqttKind.FL: KafkaTopic.FL_EVENTS,
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
}


def topic_for_event_kind(kind: str) -> KafkaTopic:
    """The Kafka topic an event of this ``kind`` lives on."""
    return _EVENT_KIND_TO_KAFKA[kind]
