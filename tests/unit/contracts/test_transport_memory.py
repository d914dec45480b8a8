"""The memory:// transport behaves like the real ones where services rely on it."""

from __future__ import annotations

import threading

import pytest

from contracts import TransportError
from contracts.transports import open_publisher, open_subscriber, parse_url
from contracts.transports.memory import MemoryBroker, topic_matches


@pytest.fixture(autouse=True)
def _fresh_broker():
    MemoryBroker.reset()
    yield
    MemoryBroker.reset()


def test_delivery_callback_fires_on_flush():
    pub = open_publisher("memory://t")
    results: list[Exception | None] = []
    pub.publish("network_data", b"a", key=b"pi-1", on_delivery=results.append)
    assert pub.flush() == 0
    assert results == [None]


def test_groups_each_get_every_message_and_members_share():
    pub = open_publisher("memory://t")
    a1 = open_subscriber("memory://t", ["network_data"], "a")
    a2 = open_subscriber("memory://t", ["network_data"], "a")
    b = open_subscriber("memory://t", ["network_data"], "b")
    for i in range(10):
        pub.publish("network_data", str(i).encode())
    got_a = a1.poll(0.1, max_messages=4) + a2.poll(0.1)
    got_b = b.poll(0.1)
    assert sorted(m.value for m in got_a) == sorted(m.value for m in got_b)
    assert len(got_a) == 10


def test_unacked_messages_are_redelivered_after_close():
    pub = open_publisher("memory://t")
    sub = open_subscriber("memory://t", ["alerts"], "svc")
    pub.publish("alerts", b"1")
    pub.publish("alerts", b"2")
    first = sub.poll(0.1)
    sub.ack(first[:1])
    sub.close()
    again = open_subscriber("memory://t", ["alerts"], "svc").poll(0.1)
    assert [m.value for m in again] == [b"2"]


def test_mqtt_wildcards_and_shared_prefix():
    assert topic_matches("fednids/v1/+/flows", "fednids/v1/pi-1/flows")
    assert topic_matches("$share/bridge/fednids/v1/+/+", "fednids/v1/pi-1/status")
    assert topic_matches("fednids/#", "fednids/v1/model/current")
    assert not topic_matches("fednids/v1/+/flows", "fednids/v1/pi-1/status")
    assert not topic_matches("fednids/v1/+", "fednids/v1/pi-1/flows")


def test_poll_waits_for_a_message_from_another_thread():
    sub = open_subscriber("memory://t", ["x"], "g")
    pub = open_publisher("memory://t")
    timer = threading.Timer(0.05, lambda: pub.publish("x", b"late"))
    timer.start()
    got = sub.poll(timeout=2.0)
    timer.join()
    assert [m.value for m in got] == [b"late"]


def test_retention_bounds_memory_and_lag_is_reported():
    broker = MemoryBroker.named("small")
    broker.retention = 5
    pub = open_publisher("memory://small")
    for i in range(12):
        pub.publish("t", str(i).encode())
    assert len(broker.messages("t")) == 5
    assert broker.lag("g", "t") == 5


@pytest.mark.parametrize("url", ["ftp://x", "kafka://", "mqtt://host:notaport", "nonsense"])
def test_bad_urls_get_a_clear_error(url):
    with pytest.raises(TransportError):
        parse_url(url)


def test_url_defaults():
    assert parse_url("kafka://h").port == 9092
    assert parse_url("mqtts://h").port == 8883
    assert parse_url("memory://demo").name == "demo"
