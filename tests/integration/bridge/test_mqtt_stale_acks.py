"""A packet id names a message only on the connection that delivered it. After the real
Mosquitto lost its state (SIGKILL before a snapshot) it numbers the bridge's messages from 1
again; a late ack for a message of the old connection must not acknowledge the newer
message that now has the same id (if it did, a bridge crash would lose that message)."""

from __future__ import annotations

import time
import uuid

import pytest

from contracts.transports import TransportOptions, open_publisher, open_subscriber
from tests.harness.servers import MosquittoServer

pytestmark = pytest.mark.integration
PORT = 21962


def _poll(sub, n: int, timeout: float = 15.0) -> list:
    got: list = []
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        got += sub.poll(0.2)
    return got


def test_an_ack_from_before_a_reconnect_does_not_ack_a_newer_message():
    # prepare: a persistent manual-ack subscriber (as the bridge) holds 5 unacked messages
    broker = MosquittoServer(port=PORT)
    broker.wipe()
    broker.start()
    topic = f"fednids/v1/s{uuid.uuid4().hex[:6]}/flows"
    opts = TransportOptions(client_id=f"stale-{uuid.uuid4().hex[:6]}", session_expiry_s=300)
    sub = open_subscriber(broker.url, [topic], group="", options=opts)
    sub2 = None
    try:
        sub.wait_subscribed(10)  # type: ignore[attr-defined]
        pub = open_publisher(broker.url, TransportOptions(client_id="stale-pub-1"))
        for i in range(5):
            pub.publish(topic, b"old-%d" % i)
        assert pub.flush(10) == 0
        pub.close()
        old = _poll(sub, 5)
        # execute: the broker dies and comes back empty; the subscriber reconnects and
        # receives 5 newer messages, which get the same packet ids 1..5
        broker.kill()
        broker.wipe()
        broker.start()
        sub.wait_subscribed(30)  # type: ignore[attr-defined]
        time.sleep(1.0)  # the re-subscription (in on_connect) is confirmed
        pub = open_publisher(broker.url, TransportOptions(client_id="stale-pub-2"))
        pub.wait_connected(10)  # type: ignore[attr-defined]
        for i in range(5):
            pub.publish(topic, b"new-%d" % i)
        assert pub.flush(10) == 0
        pub.close()
        new = _poll(sub, 5)
        sub.ack(old)  # the old messages reached Kafka: their late acks
        time.sleep(0.5)
        sub.close()  # the bridge goes away before it acked the new ones
        sub2 = open_subscriber(broker.url, [topic], group="", options=opts)
        again = _poll(sub2, 5, timeout=10)
    finally:
        if sub2 is not None:
            sub2.close()
        broker.stop()
    # assert: the newer messages were not acknowledged by the stale acks: all come again
    assert [m.value for m in old] == [b"old-%d" % i for i in range(5)]
    assert [m.value for m in new] == [b"new-%d" % i for i in range(5)]
    assert {m.token[0] for m in new} & {m.token[0] for m in old}, "no packet id was reused"
    assert sorted(m.value for m in again) == [b"new-%d" % i for i in range(5)], (
        "an ack for a message of the old connection acknowledged a newer message"
    )
