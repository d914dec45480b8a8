"""The wire format of fednids: event models, topic names, encode/decode with validation.

Every message that crosses a process boundary is one of the models in
:mod:`contracts.events`, encoded with :mod:`contracts.codec`.
"""

from contracts.codec import (
    MAX_MESSAGE_BYTES,
    decode,
    decode_batch,
    encode,
    encode_batch,
)
from contracts.errors import ContractError, PayloadTooLarge, TransportError, ValidationFailed
from contracts.events import (
    SCHEMA_VERSION,
    AlertEvent,
    AnomalyEvent,
    AttackClassification,
    AttackPrediction,
    Event,
    EventBatch,
    FLEvent,
    FlowRecord,
    ModelAnnouncement,
    NodeStatus,
)
from contracts.features import FEATURE_VERSION, FLOW_FEATURES
from contracts.topics import KafkaTopic, MqttKind, kafka_topic_for, mqtt_topic

__all__ = [
    "FEATURE_VERSION",
    "FLOW_FEATURES",
    "MAX_MESSAGE_BYTES",
    "SCHEMA_VERSION",
    "AlertEvent",
    "AnomalyEvent",
    "AttackClassification",
    "AttackPrediction",
    "ContractError",
    "Event",
    "EventBatch",
    "FLEvent",
    "FlowRecord",
    "KafkaTopic",
    "ModelAnnouncement",
    "MqttKind",
    "NodeStatus",
    "PayloadTooLarge",
    "TransportError",
    "ValidationFailed",
    "decode",
    "decode_batch",
    "encode",
    "encode_batch",
    "kafka_topic_for",
    "mqtt_topic",
]
