"""The bridge on memory:// transports: routing, validation, dead letters, ack after delivery."""

from __future__ import annotations

import json
import os

import pytest

from bridge.service import Bridge
from contracts import decode, encode, encode_batch
from contracts.deadletter import read_dead_letter
from contracts.events import AnomalyEvent, NodeStatus
from contracts.transports.memory import MemoryBroker
from tests.unit.contracts.samples import flow


@pytest.fixture
def wired():
    MemoryBroker.reset("mq")
    MemoryBroker.reset("kf")
    mq, kf = MemoryBroker.named("mq"), MemoryBroker.named("kf")
    sub = mq.subscriber(["$share/bridge/fednids/v1/+/+"], "bridge")
    bridge = Bridge(sub, kf.publisher())
    return mq, kf, bridge


def _run(bridge, mq, rounds=5):
    for _ in range(rounds):
        bridge.step(0.01)


def test_batches_become_one_kafka_record_per_event_keyed_by_node(wired):
    mq, kf, bridge = wired
    events = [flow(flow_id=f"f{i}") for i in range(25)]
    mq.append("fednids/v1/pi-1/flows", encode_batch("pi-1", events), None, False)
    mq.append(
        "fednids/v1/pi-1/anomalies",
        encode(AnomalyEvent(node_id="pi-1", detector="rules", score=1, threshold=1)),
        None,
        False,
    )
    mq.append(
        "fednids/v1/pi-1/status", encode(NodeStatus(node_id="pi-1", online=True)), None, False
    )
    _run(bridge, mq)
    recs = kf.messages("network_data")
    assert [decode(r.value).event_id for r in recs] == [e.event_id for e in events]
    assert {r.key for r in recs} == {b"pi-1"}
    assert len(kf.messages("anomalies")) == 1 and len(kf.messages("node_status")) == 1
    assert mq.lag("bridge", "fednids/v1/pi-1/flows") == 0  # acked


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("fednids/v1/pi-1/flows", os.urandom(64), "Invalid JSON"),
        ("fednids/v1/pi-1/flows", b'{"kind":"flow"}', "Field required"),
        ("fednids/v1/pi-1/flows", b" " * (300 * 1024), "exceeds"),
        ("fednids/v1/pi-1/bogus", encode(flow()), "wrong topic"),
        ("fednids/v1/pi-2/flows", encode(flow(node_id="pi-1")), "may not publish"),
        ("fednids/v1/pi-1/anomalies", encode(flow()), "carries 'flow'"),
        ("fednids/v1/pi-1/flows", b"\xff\xfe", "Invalid JSON"),
    ],
)
def test_bad_payloads_go_to_dead_letter_with_the_reason_and_are_acked(
    wired, topic, payload, reason
):
    mq, kf, bridge = wired
    mq.append(topic, payload, None, False)
    _run(bridge, mq)
    dl = kf.messages("dead_letter")
    assert len(dl) == 1
    rec = read_dead_letter(dl[0].value)
    assert reason in rec["reason"]
    assert rec["source_topic"] == topic
    assert rec["payload"] == payload[: len(rec["payload"])]
    assert kf.messages("network_data") == []
    assert mq.lag("bridge", topic) == 0


def test_nothing_is_acked_before_kafka_confirms(wired):
    mq, kf, bridge = wired
    pub = kf.publisher()
    bridge.pub = pub
    pending: list = []
    real_publish = pub.publish

    def hold(
        topic, value, *, key=None, on_delivery=None, retain=False
    ):  # Kafka "down": no delivery reports
        real_publish(topic, value, key=key, on_delivery=None, retain=retain)
        pending.append(on_delivery)

    pub.publish = hold  # type: ignore[method-assign]
    mq.append("fednids/v1/pi-1/flows", encode(flow()), None, False)
    _run(bridge, mq)
    assert bridge.in_flight() == 1 and mq.lag("bridge", "fednids/v1/pi-1/flows") == 1
    for cb in pending:  # Kafka comes back and confirms
        cb(None)
    _run(bridge, mq, 1)
    assert bridge.in_flight() == 0 and mq.lag("bridge", "fednids/v1/pi-1/flows") == 0


def test_backpressure_stops_reading_when_too_much_is_in_flight(wired):
    mq, kf, bridge = wired
    bridge.max_inflight = 3
    pub = kf.publisher()
    pub.publish = lambda *a, **k: None  # type: ignore[method-assign]  # no delivery reports at all
    bridge.pub = pub
    for i in range(10):
        mq.append("fednids/v1/pi-1/flows", encode(flow(flow_id=f"f{i}")), None, False)
    _run(bridge, mq)
    assert bridge.in_flight() == 3
    assert mq.lag("bridge", "fednids/v1/pi-1/flows") == 10


def test_model_topic_is_not_forwarded(wired):
    mq, kf, bridge = wired
    mq.append("fednids/v1/model/current", b"{}", None, True)
    _run(bridge, mq)
    assert kf.topics() == []
    assert json.loads(b"{}") == {}
