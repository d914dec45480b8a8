from __future__ import annotations

import json

import pytest

from contracts.schema import export_schemas
from contracts.topics import (
    KafkaTopic,
    MqttKind,
    kafka_topic_for,
    mqtt_subscription,
    mqtt_topic,
    parse_mqtt_topic,
)


def test_kafka_topic_registry_has_the_design_topics():
    names = {t.value for t in KafkaTopic}
    assert {
        "network_data",
        "anomalies",
        "attack_classified",
        "attack_predicted",
        "alerts",
        "fl_events",
        "dead_letter",
    } <= names


def test_mqtt_topic_round_trip():
    topic = mqtt_topic("pi-7", MqttKind.FLOWS)
    assert topic == "fednids/v1/pi-7/flows"
    assert parse_mqtt_topic(topic) == ("pi-7", MqttKind.FLOWS)
    assert kafka_topic_for(MqttKind.FLOWS) is KafkaTopic.NETWORK_DATA


@pytest.mark.parametrize("node", ["", "+", "#", "a/b", "UPPER", "x" * 80])
def test_node_ids_that_could_escape_the_topic_are_refused(node):
    with pytest.raises(ValueError):
        mqtt_topic(node, "flows")


@pytest.mark.parametrize(
    "topic", ["fednids/v1/pi-1", "fednids/v2/pi-1/flows", "fednids/v1/pi-1/bogus", "x/y/z/w"]
)
def test_parse_rejects_foreign_topics(topic):
    with pytest.raises(ValueError):
        parse_mqtt_topic(topic)


def test_shared_subscription_filter():
    assert mqtt_subscription("flows", "bridge") == "$share/bridge/fednids/v1/+/flows"
    assert mqtt_subscription() == "fednids/v1/+/+"


def test_schema_export_writes_valid_json_for_every_kind(tmp_path):
    paths = export_schemas(tmp_path)
    names = {p.name for p in paths}
    assert {"flow.schema.json", "alert.schema.json", "event.schema.json", "registry.json"} <= names
    registry = json.loads((tmp_path / "registry.json").read_text())
    assert "dead_letter" in registry["kafka_topics"]
    flow_schema = json.loads((tmp_path / "flow.schema.json").read_text())
    assert flow_schema["additionalProperties"] is False


def test_flow_record_feature_version_follows_the_feature_list():
    from contracts import FEATURE_VERSION, FlowRecord

    assert FlowRecord.model_fields["feature_version"].default == FEATURE_VERSION
