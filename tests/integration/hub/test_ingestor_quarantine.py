"""A record the real PostgreSQL refuses is quarantined, never blocks the other nodes' events."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from sqlalchemy import text

from contracts import FLOW_FEATURES, encode
from contracts.deadletter import read_dead_letter
from contracts.events import FlowRecord
from contracts.features import FEATURE_INDEX
from contracts.transports import open_publisher, open_subscriber, parse_url
from contracts.transports.kafka import ensure_topics
from hub.ingestor import Ingestor
from hub.storage import EventStore
from tests.integration.hub.test_ingestor_faults import _schema_url
from tests.unit.contracts.samples import flow

pytestmark = pytest.mark.integration


def _oversized(node: str) -> FlowRecord:
    """A flow whose packet count does not fit the database column. The contract refuses it
    today; built without validation, it stands for any value a future contract lets through
    that the schema cannot hold."""
    feats = [0.0] * len(FLOW_FEATURES)
    feats[FEATURE_INDEX["fwd_packets"]] = 3e9
    good = flow(node_id=node, flow_id="evil")
    return FlowRecord.model_construct(**{**dict(good), "features": feats})


def test_a_refused_record_is_dead_lettered_and_the_rest_of_its_batch_stored(
    kafka_server, postgres_server
):
    # prepare: 100 good flows and one the database refuses, in one batch
    ensure_topics(parse_url(kafka_server.url), ["dead_letter"])
    db = _schema_url(postgres_server.url)
    store = EventStore(db)
    store.create_schema()
    good_node, evil_node = f"g{uuid.uuid4().hex[:6]}", f"e{uuid.uuid4().hex[:6]}"
    events = [flow(node_id=good_node, flow_id=f"f{i}") for i in range(50)]
    events.append(_oversized(evil_node))
    events += [flow(node_id=good_node, flow_id=f"f{i}") for i in range(50, 100)]
    dlq = open_publisher(kafka_server.url)
    sub = open_subscriber(kafka_server.url, ["dead_letter"], group=f"q{uuid.uuid4().hex[:8]}")
    ingestor = Ingestor(sub, store, dlq)
    # execute
    fresh = ingestor._insert(events, {})
    # assert
    with store.engine.connect() as conn:
        stored = conn.execute(text("SELECT node_id, COUNT(*) FROM flows GROUP BY node_id")).all()
    assert dict(stored) == {good_node: 100}
    assert len(fresh) == 100
    assert ingestor.rejected == 1 and ingestor.dead == 1
    letters = []
    deadline = time.monotonic() + 90  # the shared dead_letter topic is read from its start
    while not letters and time.monotonic() < deadline:
        for m in sub.poll(0.5, 5000):
            rec = read_dead_letter(m.value)
            if rec.get("node_id") == evil_node:
                letters.append(rec)
    sub.close()
    dlq.close()
    store.engine.dispose()
    assert letters and "out of range" in letters[0]["reason"].lower()


def test_a_hostile_node_cannot_halt_ingestion_for_the_fleet(kafka_server, postgres_server):
    # prepare: a contract-valid but hostile flow among 100 good ones, on the real Kafka
    topic = f"network_data_q{uuid.uuid4().hex[:8]}"  # this test's own copy of network_data
    ensure_topics(parse_url(kafka_server.url), [topic, "dead_letter"])
    db = _schema_url(postgres_server.url)
    store = EventStore(db)
    store.create_schema()
    good_node, evil_node = f"g{uuid.uuid4().hex[:6]}", f"e{uuid.uuid4().hex[:6]}"
    pub = open_publisher(kafka_server.url)
    for i in range(50):
        pub.publish(topic, encode(flow(node_id=good_node, flow_id=f"a{i}")), key=b"g")
    # an end time far in the future: what a stolen sensor can send (the contract refuses it)
    base = flow(node_id=evil_node, flow_id="far")
    hostile = FlowRecord.model_construct(**{**dict(base), "start_ts": 1e9, "end_ts": 9.9e10})
    pub.publish(topic, encode(hostile), key=b"e")
    for i in range(50):
        pub.publish(topic, encode(flow(node_id=good_node, flow_id=f"b{i}")), key=b"g")
    assert pub.flush(60) == 0
    sub = open_subscriber(kafka_server.url, [topic], group=f"h{uuid.uuid4().hex[:8]}")
    ingestor = Ingestor(sub, store, pub)
    stop = threading.Event()
    # execute
    for _ in range(200):
        ingestor.step(stop, timeout=0.2)
        with store.engine.connect() as conn:
            n = conn.execute(
                text("SELECT COUNT(*) FROM flows WHERE node_id = :n"), {"n": good_node}
            ).scalar()
        if n == 100 and ingestor.dead == 1:  # the hostile record's partition was read too
            break
    # assert
    with store.engine.connect() as conn:
        evil = conn.execute(
            text("SELECT COUNT(*) FROM flows WHERE node_id = :n"), {"n": evil_node}
        ).scalar()
    sub.close()
    pub.close()
    store.engine.dispose()
    assert n == 100
    assert evil == 0
    assert ingestor.dead == 1
