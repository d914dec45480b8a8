"""The analytics services on the real Kafka: a service stopped mid-stream and started again
loses and doubles nothing (counted by source flow id), bad records go to dead_letter while the
service keeps running, and the classifier joins the detectors' votes."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter

import numpy as np
import pytest

from contracts import decode, encode
from contracts.deadletter import read_dead_letter
from contracts.events import AnomalyEvent, EventBase
from contracts.features import FLOW_FEATURES
from contracts.transports import open_publisher, open_subscriber, parse_url
from contracts.transports.kafka import ensure_topics
from hub.services.classifier_service import ClassifierService
from hub.services.iforest_service import IForestService
from hub.services.runtime import Service, ServiceRuntime
from models.iforest import IForestConfig, train_iforest
from tests.unit.contracts.samples import flow

pytestmark = pytest.mark.integration
NF = len(FLOW_FEATURES)


class _Run:
    """A service runtime in a thread, reading private input topics, as ``fednids hub X`` does."""

    def __init__(self, url: str, svc: Service, topics: list[str], group: str) -> None:
        self.stop = threading.Event()
        self.rt = ServiceRuntime(
            svc, open_subscriber(url, topics, group=group), open_publisher(url)
        )
        self.t = threading.Thread(target=self.rt.run, args=(self.stop,), daemon=True)
        self.t.start()

    def halt(self) -> None:
        self.stop.set()
        self.t.join(30)
        assert not self.t.is_alive()


def _collect(url: str, topic: str, want, n: int, timeout: float = 60) -> list:  # type: ignore[no-untyped-def]
    sub = open_subscriber(url, [topic], group=f"read-{uuid.uuid4().hex[:8]}")
    got: list = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and len(got) < n:
            for m in sub.poll(0.5, 5000):
                x = want(m.value)
                if x is not None:
                    got.append(x)
        time.sleep(1.0)  # anything extra (doubles) would arrive now
        for m in sub.poll(0.5, 5000):
            x = want(m.value)
            if x is not None:
                got.append(x)
    finally:
        sub.close()
    return got


def _ends(url: str, topic: str) -> dict[int, int]:
    """Each partition's end offset now: where a reader of what comes next starts."""
    from confluent_kafka import Consumer, TopicPartition

    u = parse_url(url)
    c = Consumer(
        {"bootstrap.servers": f"{u.host}:{u.port}", "group.id": f"ends-{uuid.uuid4().hex[:8]}"}
    )
    try:
        parts = c.list_topics(topic, timeout=10).topics[topic].partitions
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts}
    finally:
        c.close()


def _read_from(
    url: str, topic: str, start: dict[int, int], want, n: int, timeout: float = 60
) -> list:  # type: ignore[no-untyped-def]
    """Records of ``topic`` from the offsets ``start`` on (a shared topic such as dead_letter
    holds every earlier run's records: reading it from the beginning takes as long as it is)."""
    from confluent_kafka import Consumer, TopicPartition

    u = parse_url(url)
    c = Consumer(
        {"bootstrap.servers": f"{u.host}:{u.port}", "group.id": f"read-{uuid.uuid4().hex[:8]}"}
    )
    c.assign([TopicPartition(topic, p, o) for p, o in start.items()])
    got: list = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and len(got) < n:
            for m in c.consume(500, 0.5):
                if m.error() is None and (x := want(m.value())) is not None:
                    got.append(x)
        for m in c.consume(500, 1.0):  # anything extra (doubles) would arrive now
            if m.error() is None and (x := want(m.value())) is not None:
                got.append(x)
    finally:
        c.close()
    return got


def _mine(node: str):  # type: ignore[no-untyped-def]
    def f(raw: bytes) -> EventBase | None:
        try:
            ev = decode(raw)
        except Exception:
            return None
        return ev if ev.node_id == node else None

    return f


def _flows(node: str, n: int, start: int = 0) -> list:  # type: ignore[type-arg]
    return [
        flow(
            node,
            flow_id=f"f{i}",
            src_ip="10.9.0.66",
            features=[1e6 if i % 3 == 0 else 10.0] * NF,
            start_ts=1_700_000_000.0 + i,
            end_ts=1_700_000_000.5 + i,
        )
        for i in range(start, start + n)
    ]


def test_iforest_restart_mid_stream_and_dead_letters(kafka_server):  # type: ignore[no-untyped-def]
    url = kafka_server.url
    rng = np.random.default_rng(0)
    model = train_iforest(np.abs(rng.normal(10, 1, size=(600, NF))), IForestConfig())
    node, topic, group = (
        f"n-{uuid.uuid4().hex[:6]}",
        f"t-{uuid.uuid4().hex[:8]}-flows",
        f"anomaly-iforest-{uuid.uuid4().hex[:6]}",
    )
    ensure_topics(parse_url(url), [topic, "anomalies", "dead_letter"])
    pub = open_publisher(url)
    first, second = _flows(node, 300), _flows(node, 300, 300)
    for f in first:
        pub.publish(topic, encode(f), key=node.encode())
    assert pub.flush(30) == 0
    run = _Run(url, IForestService(model), [topic], group)
    deadline = time.monotonic() + 60
    while run.rt.handled < 300 and time.monotonic() < deadline:
        time.sleep(0.2)
    run.halt()  # SIGTERM-like stop between batches
    for f in second:
        pub.publish(topic, encode(f), key=node.encode())
    dead_from = _ends(url, "dead_letter")
    pub.publish(topic, b"\xffnot an event", key=node.encode())
    for f in _flows(node, 3, 600):
        pub.publish(topic, encode(f), key=node.encode())  # after the bad record: still served
    assert pub.flush(30) == 0
    pub.close()
    run2 = _Run(url, IForestService(model), [topic], group)
    try:
        hot = {f"f{i}" for i in range(603) if i % 3 == 0}
        out = _collect(url, "anomalies", _mine(node), len(hot))
        dead = _read_from(
            url,
            "dead_letter",
            dead_from,
            lambda r: d if (d := read_dead_letter(r))["source_topic"] == topic else None,
            1,
        )
    finally:
        run2.halt()
    counts = Counter(a.flow_id for a in out)
    assert set(counts) == hot  # nothing lost
    assert max(counts.values()) == 1  # nothing doubled
    assert all(isinstance(a, AnomalyEvent) and a.detector == "iforest" for a in out)
    assert len(dead) == 1 and dead[0]["payload"] == b"\xffnot an event"


class _ByVotes:
    def predict(self, x, votes):  # type: ignore[no-untyped-def]
        fam = ["botnet" if v[0] and v[1] else "scan" for v in votes]
        return fam, np.full(len(votes), 0.8), [[("bytes", 1.0, 0.3)] for _ in votes]


def test_classifier_joins_votes_over_kafka(kafka_server):  # type: ignore[no-untyped-def]
    url = kafka_server.url
    node = f"n-{uuid.uuid4().hex[:6]}"
    tf, ta = f"t-{uuid.uuid4().hex[:8]}-flows", f"t-{uuid.uuid4().hex[:8]}-anom"
    ensure_topics(parse_url(url), [tf, ta, "attack_classified"])
    pub = open_publisher(url)
    flows = _flows(node, 40)
    for f in flows:
        pub.publish(tf, encode(f), key=node.encode())
    for f in flows[:10]:  # lstm + rules on 10 flows, rules only on the next 10
        for det in ("lstm", "rules"):
            a = AnomalyEvent(node_id=node, detector=det, score=1, threshold=0.5, flow_id=f.flow_id)
            pub.publish(ta, encode(a), key=node.encode())
    for f in flows[10:20]:
        a = AnomalyEvent(node_id=node, detector="rules", score=1, threshold=0.5, flow_id=f.flow_id)
        pub.publish(ta, encode(a), key=node.encode())
    assert pub.flush(30) == 0
    run = _Run(
        url,
        ClassifierService(_ByVotes(), hold_s=5.0),
        [tf, ta],
        f"threat-classifier-{uuid.uuid4().hex[:6]}",
    )
    deadline = time.monotonic() + 60
    while run.rt.handled < 70 and time.monotonic() < deadline:  # flows and votes are in
        time.sleep(0.1)
    # later traffic closes the join window (topics are not ordered with each other)
    pub.publish(
        tf,
        encode(flow(node, flow_id="tick", start_ts=1_700_009_000.0, end_ts=1_700_009_001.0)),
        key=node.encode(),
    )
    assert pub.flush(30) == 0
    pub.close()
    try:
        out = _collect(url, "attack_classified", _mine(node), 20)
    finally:
        run.halt()
    fam = {c.flow_id: c.family for c in out}
    assert len(out) == 20 and len(fam) == 20
    assert {fam[f.flow_id] for f in flows[:10]} == {"botnet"}
    assert {fam[f.flow_id] for f in flows[10:20]} == {"scan"}


def test_predictions_alert_dedup_and_escalation_over_kafka(kafka_server):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from contracts.events import AlertEvent, AttackClassification, AttackPrediction
    from hub.services.alerting import AlertingService
    from hub.services.gnn_service import GnnService
    from hub.services.settings import ServicesSettings
    from models.gnn.model import load_predictor

    url = kafka_server.url
    net = f"10.{np.random.default_rng().integers(100, 250)}.{uuid.uuid4().int % 250}"
    host = [f"{net}.{i}" for i in range(12)]
    tf, tc = f"t-{uuid.uuid4().hex[:8]}-flows", f"t-{uuid.uuid4().hex[:8]}-cls"
    ensure_topics(parse_url(url), [tf, tc, "attack_predicted", "alerts"])
    pub = open_publisher(url)
    now = time.time()
    feats = [0.0] * NF
    feats[3] = 5000.0
    for i in range(1, 11):  # a chain plus a few side links, telnet everywhere
        for j in (i + 1, (i * 7) % 11 + 1):
            f = flow(
                "pi-1",
                flow_id=f"g{i}-{j}",
                src_ip=host[i],
                dst_ip=host[j],
                dst_port=23,
                features=feats,
                start_ts=now - 5,
                end_ts=now - 4,
            )
            pub.publish(tf, encode(f), key=b"pi-1")
    assert pub.flush(30) == 0

    def cls(s: int, d: int, dt: float) -> AttackClassification:
        return AttackClassification(
            node_id="pi-1",
            family="botnet",
            confidence=0.95,
            src_ip=host[s],
            dst_ip=host[d],
            ts=datetime.fromtimestamp(now + dt, UTC),
        )

    for k in range(50):  # one incident, fifty classifications
        pub.publish(tc, encode(cls(1, 2, k * 0.01)), key=b"pi-1")
    pub.publish(tc, encode(cls(2, 3, 1.0)), key=b"pi-1")
    assert pub.flush(30) == 0
    tag = uuid.uuid4().hex[:6]
    gnn = _Run(
        url,
        GnnService(load_predictor(ServicesSettings().gnn_model), every_s=0.5, top_k=3, min_p=0.0),
        [tf, tc],
        f"gnn-{tag}",
    )
    alerting = _Run(
        url, AlertingService(update_every_s=30), [tc, "attack_predicted"], f"alerting-{tag}"
    )
    try:

        def mine(raw: bytes):  # type: ignore[no-untyped-def]
            ev = decode(raw)
            if isinstance(ev, AttackPrediction) and ev.target_host.startswith(net + "."):
                return ev
            return None

        preds = _collect(url, "attack_predicted", mine, 1)
        assert preds, "no prediction"
        target = preds[0].target_host
        src = int(target.rsplit(".", 1)[1])
        pub.publish(tc, encode(cls(3 if src != 3 else 2, src, 5.0)), key=b"pi-1")
        assert pub.flush(30) == 0

        def my_alert(raw: bytes):  # type: ignore[no-untyped-def]
            ev = decode(raw)
            if isinstance(ev, AlertEvent) and any(h.startswith(net + ".") for h in ev.hosts):
                return ev
            return None

        alerts = _collect(url, "alerts", my_alert, 4, timeout=30)
    finally:
        gnn.halt()
        alerting.halt()
        pub.close()
    for p in preds:
        assert 0.0 <= p.probability <= 1.0 and p.path[-1] == p.target_host
        assert p.target_host not in (host[1], host[2])  # already seen attacking
    first = [a for a in alerts if a.incident_key == f"botnet:{host[1]}"]
    assert len(first) == 1 and first[0].count >= 1  # 50 classifications, one alert
    assert any(a.escalated for a in alerts), [(a.incident_key, a.escalated) for a in alerts]
