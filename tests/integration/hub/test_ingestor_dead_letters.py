"""The ingestor never commits past a batch whose dead letters Kafka did not confirm.

Before: a dead-letter flush that timed out raised out of ``step``; the next poll took the
next batch and its commit moved the group's offsets past the failed batch, whose good
events were never stored."""

from __future__ import annotations

import socket
import threading
import time
import uuid

import pytest
from sqlalchemy import text

from contracts import encode
from contracts.transports import TransportOptions, open_publisher, open_subscriber, parse_url
from contracts.transports.kafka import ensure_topics
from hub.ingestor import Ingestor
from hub.storage import EventStore
from tests.integration.hub.test_ingestor_faults import _schema_url
from tests.unit.contracts.samples import flow

pytestmark = pytest.mark.integration


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens there once closed


def _good(node: str, tag: str, n: int) -> list[bytes]:
    now = time.time()
    return [
        encode(flow(node_id=node, flow_id=f"{tag}{i}", start_ts=now - 1, end_ts=now))
        for i in range(n)
    ]


def _count(store: EventStore, node: str) -> int:
    with store.engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT COUNT(DISTINCT event_id) FROM flows WHERE node_id = :n"), {"n": node}
            ).scalar()
        )


def test_a_dead_letter_flush_that_times_out_never_skips_its_batch(kafka_server, postgres_server):
    # prepare: batch A = one undecodable record + 50 good flows, on this test's own topic
    topic = f"network_data_d{uuid.uuid4().hex[:8]}"
    ensure_topics(parse_url(kafka_server.url), [topic, "dead_letter"], partitions=1)
    store = EventStore(_schema_url(postgres_server.url))
    store.create_schema()
    node, group = f"d{uuid.uuid4().hex[:6]}", f"ing-{uuid.uuid4().hex[:8]}"
    marker = f"garbage-{node}".encode()  # undecodable
    pub = open_publisher(kafka_server.url)
    for value in [marker + b"\x00\xff", *_good(node, "a", 50)]:
        pub.publish(topic, value, key=node.encode())
    assert pub.flush(30) == 0
    # the first ingestor's dead letters go to a Kafka that is not there: never confirmed
    dead_kafka = open_publisher(
        f"kafka://127.0.0.1:{_closed_port()}", TransportOptions(extra={"log_level": 0})
    )
    first = Ingestor(open_subscriber(kafka_server.url, [topic], group=group), store, dead_kafka)
    first.dlq_timeout_s = 1.0
    stop = threading.Event()
    runner = threading.Thread(target=first.run, args=(stop,), daemon=True)
    # execute: it runs while batch B (50 more good flows) arrives, then stops
    runner.start()
    time.sleep(2.0)
    for value in _good(node, "b", 50):
        pub.publish(topic, value, key=node.encode())
    assert pub.flush(30) == 0
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline and first.stored == 0 and first.retries < 2:
        time.sleep(0.2)
    stop.set()
    runner.join(60)
    stored_by_first = _count(store, node)
    # a second ingestor with a working dead_letter producer takes over the group
    second = Ingestor(open_subscriber(kafka_server.url, [topic], group=group), store, pub)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _count(store, node) < 100:
        second.step(stop=threading.Event(), timeout=0.5)
    total = _count(store, node)
    second.sub.close()
    pub.close()
    store.engine.dispose()
    # assert: every good event of both batches is stored, the garbage is dead-lettered
    assert not runner.is_alive()
    assert total == 100, (
        f"{100 - total} good events skipped (first ingestor stored {stored_by_first})"
    )
    assert second.dead == 1  # dead-lettered, and confirmed by Kafka before the commit
