"""The bridge between the real Mosquitto and the real Kafka: counts, faults, garbage."""

from __future__ import annotations

import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Sequence

import pytest

from contracts import decode, encode, encode_batch
from contracts.deadletter import read_dead_letter
from contracts.errors import ContractError
from contracts.transports import TransportOptions, open_publisher, open_subscriber, parse_url
from contracts.transports.kafka import ensure_topics
from tests.harness.servers import KafkaServer, MosquittoServer
from tests.unit.contracts.samples import flow

pytestmark = pytest.mark.integration
TOPICS = ["network_data", "anomalies", "node_status", "fl_events", "dead_letter"]


class KafkaCounter:
    """Reads network_data (and dead_letter) from the start with its own group; counts per node."""

    def __init__(self, kafka_url: str, nodes: set[str]) -> None:
        self.nodes = nodes
        self.ids: dict[uuid.UUID, int] = {}
        self.dead: list[dict] = []
        self.sub = open_subscriber(
            kafka_url, ["network_data", "dead_letter"], group=f"count-{uuid.uuid4().hex[:8]}"
        )
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for m in self.sub.poll(0.5):
                if m.topic == "dead_letter":
                    rec = read_dead_letter(m.value)
                    if rec.get("node_id") in self.nodes:
                        self.dead.append(rec)
                    continue
                try:
                    ev = decode(m.value)
                except ContractError:  # another test's garbage on the shared broker
                    continue
                if ev.node_id in self.nodes:
                    self.ids[ev.event_id] = self.ids.get(ev.event_id, 0) + 1

    def wait(self, want: set[uuid.UUID], dead: int = 0, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (
            not want <= self.ids.keys() or len(self.dead) < dead
        ):
            time.sleep(0.25)

    def close(self) -> None:
        self._stop.set()
        self._t.join(10)
        self.sub.close()


def _bridge(
    mqtt_url: str,
    kafka_url: str,
    client_id: str,
    wait: bool = True,
    group: str | None = None,
    extra: Sequence[str] = (),
) -> subprocess.Popen:
    """A bridge process; returns once it says its subscription is confirmed."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fednids",
            "bridge",
            "--mqtt",
            mqtt_url,
            "--kafka",
            kafka_url,
            "--client-id",
            client_id,
            "--group",
            client_id if group is None else group,
            "--session-expiry",
            "300",
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while wait and time.monotonic() < deadline:
        line = proc.stderr.readline()  # type: ignore[union-attr]
        if not line and proc.poll() is not None:
            raise AssertionError(f"bridge exited with {proc.returncode}")
        if " ready: " in line:
            break
    threading.Thread(target=proc.stderr.read, daemon=True).start()  # type: ignore[union-attr]
    return proc


def _publish_stream(
    mqtt_url: str,
    nodes: list[str],
    batches: int,
    per_batch: int,
    pause: float = 0.0,
    sent: set[uuid.UUID] | None = None,
) -> set[uuid.UUID]:
    """Agents' traffic: QoS 1 batches, waiting for every PUBACK (what an agent confirms)."""
    sent = set() if sent is None else sent
    pubs = {
        n: open_publisher(
            mqtt_url,
            TransportOptions(client_id=f"pub-{n}", clean_start=False, session_expiry_s=300),
        )
        for n in nodes
    }
    for i in range(batches):
        for n, pub in pubs.items():
            events = [flow(node_id=n, flow_id=f"{i}-{j}") for j in range(per_batch)]
            pub.publish(f"fednids/v1/{n}/flows", encode_batch(n, events))
            sent.update(e.event_id for e in events)
        if pause:
            time.sleep(pause)
    for pub in pubs.values():
        assert pub.flush(120) == 0, "broker did not confirm every message"
        pub.close()
    return sent


def _nodes(k: int) -> list[str]:
    tag = uuid.uuid4().hex[:6]
    return [f"b{tag}-{i}" for i in range(k)]


def _wait_ready(kafka_url: str) -> None:
    ensure_topics(parse_url(kafka_url), TOPICS)


def test_stream_from_three_nodes_arrives_complete(kafka_server, mosquitto_server):
    nodes = _nodes(3)
    _wait_ready(kafka_server.url)
    bridge = _bridge(mosquitto_server.url, kafka_server.url, f"br-{nodes[0]}")
    counter = KafkaCounter(kafka_server.url, set(nodes))
    try:
        sent = _publish_stream(mosquitto_server.url, nodes, batches=40, per_batch=50)
        counter.wait(sent)
    finally:
        bridge.send_signal(signal.SIGTERM)
        bridge.wait(30)
        counter.close()
    assert bridge.returncode == 0
    assert len(sent) == 6000
    assert sent <= counter.ids.keys(), f"lost {len(sent - counter.ids.keys())}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _in_flight(metrics_port: int) -> float:
    """The bridge's own gauge: MQTT messages received and not yet confirmed by Kafka."""
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=2) as r:
        body = r.read().decode()
    line = next(x for x in body.splitlines() if x.startswith("bridge_in_flight_messages "))
    return float(line.split()[1])


def test_kill_9_of_the_bridge_loses_nothing(kafka_server, mosquitto_server):
    nodes = _nodes(2)
    _wait_ready(kafka_server.url)
    cid = f"br-{nodes[0]}"
    port = _free_port()
    bridge = _bridge(
        mosquitto_server.url, kafka_server.url, cid, extra=["--metrics-port", str(port)]
    )
    counter = KafkaCounter(kafka_server.url, set(nodes))
    sent: set[uuid.UUID] = set()
    in_flight = 0.0
    try:
        feeder = threading.Thread(
            target=_publish_stream, args=(mosquitto_server.url, nodes, 60, 50, 0.05, sent)
        )
        feeder.start()
        # kill only while the bridge holds messages Kafka has not confirmed yet
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and in_flight <= 0:
            in_flight = _in_flight(port)
        bridge.send_signal(signal.SIGKILL)
        bridge.wait(10)
        time.sleep(1)
        bridge = _bridge(
            mosquitto_server.url, kafka_server.url, cid
        )  # same client id: its session resumes
        feeder.join(120)
        counter.wait(sent)
    finally:
        bridge.send_signal(signal.SIGTERM)
        bridge.wait(30)
        counter.close()
    assert in_flight > 0, "the bridge was never seen holding a message"
    assert len(sent) == 6000
    got = set(counter.ids)
    dups = sum(c - 1 for c in counter.ids.values())
    assert got == sent, f"lost {len(sent - got)}, unexpected {len(got - sent)} ({dups} duplicates)"


def test_mosquitto_restart_mid_stream_loses_nothing(kafka_server):
    """A single bridge with a plain persistent subscription (``--group ""``). Debian's
    Mosquitto 2.0.11 does not restore *shared* subscriptions from its persistence file
    after a restart (fixed upstream in 2.0.12), so a shared-subscription bridge loses what
    arrives between the broker's restart and the bridge's re-subscription there."""
    broker = MosquittoServer(port=21893)
    broker.start()
    nodes = _nodes(2)
    _wait_ready(kafka_server.url)
    bridge = _bridge(broker.url, kafka_server.url, f"br-{nodes[0]}", group="")
    counter = KafkaCounter(kafka_server.url, set(nodes))
    sent: set[uuid.UUID] = set()
    try:
        _publish_stream(broker.url, nodes, 20, 50, sent=sent)
        broker.restart()
        _publish_stream(broker.url, nodes, 20, 50, sent=sent)
        counter.wait(sent)
    finally:
        bridge.send_signal(signal.SIGTERM)
        bridge.wait(30)
        counter.close()
        broker.stop()
    assert sent <= counter.ids.keys(), f"lost {len(sent - counter.ids.keys())}"


def test_kafka_restart_mid_stream_stops_acking_and_loses_nothing(mosquitto_server):
    kafka = KafkaServer(port=29192)
    kafka.start()
    nodes = _nodes(2)
    _wait_ready(kafka.url)
    bridge = _bridge(mosquitto_server.url, kafka.url, f"br-{nodes[0]}")
    sent: set[uuid.UUID] = set()
    counter = None
    try:
        _publish_stream(mosquitto_server.url, nodes, 10, 50, sent=sent)
        kafka.stop()
        _publish_stream(
            mosquitto_server.url, nodes, 10, 50, sent=sent
        )  # accepted by MQTT, held by the bridge
        kafka.start()
        counter = KafkaCounter(kafka.url, set(nodes))
        counter.wait(sent, timeout=120)
    finally:
        bridge.send_signal(signal.SIGTERM)
        bridge.wait(30)
        if counter:
            counter.close()
        kafka.stop()
    assert bridge.poll() is not None
    assert sent <= counter.ids.keys(), f"lost {len(sent - counter.ids.keys())}"


def test_ten_thousand_malformed_payloads_go_to_dead_letter(kafka_server, mosquitto_server):
    nodes = _nodes(2)
    bad_node, good_node = nodes
    _wait_ready(kafka_server.url)
    bridge = _bridge(mosquitto_server.url, kafka_server.url, f"br-{bad_node}")
    counter = KafkaCounter(kafka_server.url, set(nodes))
    rng = random.Random(1)
    try:
        pub = open_publisher(
            mosquitto_server.url, TransportOptions(client_id=f"evil-{bad_node}", clean_start=True)
        )
        valid = encode(flow(node_id=bad_node))
        for i in range(10_000):
            kind = i % 4
            if kind == 0:
                payload, topic = rng.randbytes(rng.randint(1, 300)), f"fednids/v1/{bad_node}/flows"
            elif kind == 1:
                payload, topic = b'{"kind":"flow","node_id":"x"}', f"fednids/v1/{bad_node}/flows"
            elif kind == 2:
                payload, topic = b"[" * 1000 + b" " * (257 * 1024), f"fednids/v1/{bad_node}/flows"
            else:
                payload, topic = valid, f"fednids/v1/{bad_node}/nonsense"
            pub.publish(topic, payload)
            if i % 500 == 0:
                pub.flush(60)
        assert pub.flush(120) == 0
        pub.close()
        sent = _publish_stream(mosquitto_server.url, [good_node], batches=20, per_batch=50)
        counter.wait(sent, dead=10_000, timeout=180)
        alive = bridge.poll() is None
    finally:
        bridge.send_signal(signal.SIGTERM)
        bridge.wait(30)
        counter.close()
    assert alive
    assert len(counter.dead) == 10_000
    assert {d["source_topic"].rsplit("/", 1)[1] for d in counter.dead} == {"flows", "nonsense"}
    assert sent <= counter.ids.keys()
