"""The hub services on the real Kafka: labelled traffic in, alerts out, a restart mid-stream
loses nothing, bad input goes to dead_letter."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from contracts import decode, encode
from contracts.deadletter import read_dead_letter
from contracts.events import AnomalyEvent
from contracts.transports import open_publisher, open_subscriber, parse_url
from contracts.transports.kafka import ensure_topics
from hub.services.alerting import AlertingService
from hub.services.runtime import ServiceRuntime

pytestmark = pytest.mark.integration


def _runtime(url: str, group: str) -> ServiceRuntime:
    svc = AlertingService(update_every_s=1e9)  # one alert per incident: easy to count
    return ServiceRuntime(
        svc, open_subscriber(url, list(svc.inputs), group=group), open_publisher(url)
    )


def _run(rt: ServiceRuntime, stop: threading.Event) -> threading.Thread:
    t = threading.Thread(
        target=lambda: [rt.step(0.2) for _ in iter(stop.is_set, True)], daemon=True
    )
    t.start()
    return t


def test_alerting_on_kafka_survives_a_restart_and_dead_letters_garbage(kafka_server):
    url = kafka_server.url
    ensure_topics(
        parse_url(url),
        ["anomalies", "attack_classified", "attack_predicted", "alerts", "dead_letter"],
    )
    tag = uuid.uuid4().hex[:6]
    group = f"alerting-{tag}"
    hosts = [f"10.{i}.{int(tag[:2], 16)}.7" for i in range(40)]
    pub = open_publisher(url)
    # first half, then the service restarts, then the second half and some garbage
    for h in hosts[:20]:
        pub.publish(
            "anomalies",
            encode(
                AnomalyEvent(
                    node_id=f"s-{tag}",
                    detector="rules",
                    rule_id="telnet_scan",
                    score=20,
                    threshold=10,
                    severity="high",
                    src_ip=h,
                )
            ),
        )
    pub.publish("anomalies", b"garbage-" + tag.encode())
    pub.flush(30)
    out = open_subscriber(url, ["alerts", "dead_letter"], group=f"check-{tag}")
    stop = threading.Event()
    rt = _runtime(url, group)
    t = _run(rt, stop)
    time.sleep(4)
    stop.set()
    t.join(10)
    rt.sub.close()
    for h in hosts[20:]:
        pub.publish(
            "anomalies",
            encode(
                AnomalyEvent(
                    node_id=f"s-{tag}",
                    detector="rules",
                    rule_id="telnet_scan",
                    score=20,
                    threshold=10,
                    severity="high",
                    src_ip=h,
                )
            ),
        )
    pub.flush(30)
    stop2 = threading.Event()
    rt2 = _runtime(url, group)
    t2 = _run(rt2, stop2)
    keys: dict[str, int] = {}
    dead = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (len(keys) < 40 or not dead):
        for m in out.poll(0.5):
            if m.topic == "dead_letter":
                rec = read_dead_letter(m.value)
                if rec["payload"] == b"garbage-" + tag.encode():
                    dead.append(rec)
                continue
            ev = decode(m.value)
            if ev.incident_key.split(":", 1)[1] in hosts:  # type: ignore[attr-defined]
                keys[ev.incident_key] = keys.get(ev.incident_key, 0) + 1  # type: ignore[attr-defined]
    stop2.set()
    t2.join(10)
    out.close()
    assert len(keys) == 40, f"{40 - len(keys)} incidents missing"
    assert all(n == 1 for n in keys.values()), "an incident was alerted twice"
    assert len(dead) == 1 and dead[0]["service"] == "alerting"
