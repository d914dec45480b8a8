"""Every contract through the real Kafka and the real Mosquitto and back, and proof of
which broker answered."""

from __future__ import annotations

import time
import uuid

import pytest

from contracts import decode, decode_batch, encode, encode_batch
from contracts.transports import TransportOptions, open_publisher, open_subscriber, parse_url
from contracts.transports.kafka import cluster_metadata, ensure_topics
from tests.unit.contracts.samples import all_samples, flow

pytestmark = pytest.mark.integration


def _drain(sub, want: int, timeout: float = 30.0):
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        msgs = sub.poll(timeout=0.5)
        got.extend(msgs)
        sub.ack(msgs)
    return got


def test_kafka_answers_with_its_cluster_metadata(kafka_server):
    md = cluster_metadata(parse_url(kafka_server.url))
    print(f"kafka cluster_id={md['cluster_id']} brokers={md['brokers']}")
    assert md["cluster_id"]
    assert list(md["brokers"].values()) == [f"127.0.0.1:{parse_url(kafka_server.url).port}"]


def test_every_contract_round_trips_through_kafka(kafka_server):
    # prepare
    topic = f"contracts-{uuid.uuid4().hex[:8]}"
    ensure_topics(parse_url(kafka_server.url), [topic], partitions=2)
    events = all_samples()
    pub = open_publisher(kafka_server.url)
    delivered: list[Exception | None] = []
    # execute
    for ev in events:
        pub.publish(topic, encode(ev), key=ev.node_id.encode(), on_delivery=delivered.append)
    pub.publish(
        topic, encode_batch("pi-1", [flow(), flow()]), key=b"pi-1", on_delivery=delivered.append
    )
    assert pub.flush(30) == 0
    sub = open_subscriber(kafka_server.url, [topic], group=f"g-{topic}")
    msgs = _drain(sub, len(events) + 1)
    sub.close()
    # assert
    assert delivered == [None] * (len(events) + 1)
    received = [e for m in msgs for e in decode_batch(m.value)]
    assert {e.event_id for e in received} == {e.event_id for e in events} | {
        e.event_id for m in msgs if b'"batch"' in m.value for e in decode_batch(m.value)
    }
    by_id = {e.event_id: e for e in received}
    for ev in events:
        assert by_id[ev.event_id] == ev


def test_kafka_commit_means_no_redelivery_to_the_group(kafka_server):
    topic = f"commit-{uuid.uuid4().hex[:8]}"
    ensure_topics(parse_url(kafka_server.url), [topic], partitions=1)
    pub = open_publisher(kafka_server.url)
    for i in range(5):
        pub.publish(topic, encode(flow(flow_id=f"f{i}")))
    pub.flush(30)
    group = f"g-{topic}"
    sub = open_subscriber(kafka_server.url, [topic], group)
    first = _drain(sub, 5)
    sub.close()  # acked by _drain
    pub.publish(topic, encode(flow(flow_id="f5")))
    pub.flush(30)
    sub2 = open_subscriber(kafka_server.url, [topic], group)
    rest = _drain(sub2, 1)
    sub2.close()
    assert len(first) == 5
    assert [decode(m.value).flow_id for m in rest] == ["f5"]  # type: ignore[attr-defined]


def test_mosquitto_reports_its_version(mosquitto_server):
    sub = open_subscriber(
        mosquitto_server.url,
        ["$SYS/broker/version"],
        group="",
        options=TransportOptions(clean_start=True),
    )
    sub.wait_subscribed(10)
    msgs = sub.poll(timeout=15)
    sub.close()
    print(f"mosquitto says: {msgs[0].value.decode()}")
    assert msgs and msgs[0].value.startswith(b"mosquitto version")


def test_every_contract_round_trips_through_mosquitto(mosquitto_server):
    # prepare
    node = f"n{uuid.uuid4().hex[:6]}"
    topic = f"fednids/v1/{node}/flows"
    sub = open_subscriber(
        mosquitto_server.url,
        [topic],
        group="",
        options=TransportOptions(client_id=f"sub-{node}", clean_start=True),
    )
    sub.wait_subscribed(10)
    pub = open_publisher(
        mosquitto_server.url, TransportOptions(client_id=f"pub-{node}", clean_start=True)
    )
    events = all_samples(node_id=node)
    acks: list[Exception | None] = []
    # execute
    for ev in events:
        pub.publish(topic, encode(ev), on_delivery=acks.append)
    assert pub.flush(15) == 0
    msgs = _drain(sub, len(events), timeout=15)
    sub.close()
    pub.close()
    # assert
    assert acks == [None] * len(events)
    got = {e.event_id: e for m in msgs for e in decode_batch(m.value)}
    for ev in events:
        if ev.node_id == node:
            assert got[ev.event_id] == ev
    assert len(got) == len(events)
