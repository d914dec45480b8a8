"""Packet evidence end to end on the real Mosquitto, with the broker configured from our
templates (node listener + node ACL, service listener + service ACL): an agent replays a small
pcap, the hub (service identity) asks for one host's packets in a window and gets a pcap
holding exactly those frames; a window that has left the agent's ring is ``expired``; a node
can neither read another node's command topic nor answer for it."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest

from bridge.mqtt_security import MqttSecurity, listener_fragment, render_acl
from contracts.evidence import EvidenceRequest, encode_wire
from contracts.topics import mqtt_evidence_reply_topic, mqtt_evidence_request_topic
from contracts.transports import open_publisher, open_subscriber
from edge_agent.agent import Agent
from edge_agent.capture.frames import addr, tcp_frame, write_pcap
from edge_agent.capture.pcap import PcapSource
from edge_agent.settings import AgentSettings
from hub.evidence import EvidenceRecord, EvidenceService, EvidenceStore
from tests.harness.certs import make_test_pki
from tests.harness.servers import MosquittoServer
from tests.integration.helpers import collect, pki_client_options

pytestmark = pytest.mark.integration
PLAIN, NODE_PORT, SERVICE_PORT = 21941, 21942, 21943
HOSTS = ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
SERVER = "10.9.9.9"
N = 3000
PAD = 246  # 54 header bytes + 246: 300-byte frames, 900 KB in all, more than the ring holds


def _frames() -> list[tuple[float, bytes, int, str]]:
    out = []
    for i in range(N):
        ts, hdr, _w, label = tcp_frame(
            1000.0 + i * 0.1, addr(HOSTS[i % 3]), addr(SERVER), 2000 + i % 3, 80, 0x18
        )
        data = hdr + bytes([i % 251]) * PAD
        out.append((ts, data, len(data), label))
    return out


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    d = tmp_path_factory.mktemp("evidence-broker")
    pki = make_test_pki(d / "pki", clients=("pi-a", "pi-b", "hub", "bridge"))
    sec = MqttSecurity(
        pki.ca, pki.server.cert, pki.server.key, d / "data",
        port=NODE_PORT, bind="127.0.0.1", service_port=SERVICE_PORT,
    )  # fmt: skip
    acl = d / "acl"
    acl.write_text(render_acl(sec))
    server = MosquittoServer(port=PLAIN, extra_config=listener_fragment(sec, acl))
    server.start()
    yield pki
    server.stop()


def _wait(svc: EvidenceService, rec: EvidenceRecord, seconds: float = 30) -> EvidenceRecord:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = svc.get(rec.evidence_id)
        if got is not None and got.status != "pending":
            return got
        time.sleep(0.1)
    raise AssertionError(f"evidence {rec.evidence_id} still pending")


def test_the_hub_fetches_one_hosts_packets_and_an_old_window_is_expired(broker, tmp_path: Path):
    # prepare: the capture, the agent replaying it (and staying up), the hub's service
    pki = broker
    frames = _frames()
    write_pcap(tmp_path / "replay.pcap", frames)
    node = pki.client("pi-a")
    settings = AgentSettings(
        node_id="pi-a", source=f"pcap:{tmp_path / 'replay.pcap'}",
        mqtt_url=f"mqtts://localhost:{NODE_PORT}", ca_file=pki.ca, cert_file=node.cert,
        key_file=node.key, outbox_path=tmp_path / "outbox.db", baseline=False, ioc=False,
        heartbeat_s=0.5, evidence_mb=0.5,
    )  # fmt: skip
    agent = Agent(settings)
    stop = threading.Event()
    runner = threading.Thread(
        target=agent.run,
        args=(stop,),
        kwargs={"keep_running": True, "drain_timeout": 1.0},
        daemon=True,
    )
    svc = EvidenceService(
        f"mqtts://localhost:{SERVICE_PORT}", EvidenceStore(tmp_path / "evidence"),
        pki_client_options(pki, "hub"), timeout_s=20,
    )  # fmt: skip
    runner.start()
    try:
        svc.wait_ready(10)
        deadline = time.monotonic() + 60
        while agent.pipeline.packets < N and time.monotonic() < deadline:
            time.sleep(0.1)
        assert agent.pipeline.packets == N and agent.evidence is not None
        oldest, newest = agent.evidence.bounds()
        assert oldest is not None and newest is not None and oldest > 1000.0  # some were evicted
        t0, t1 = oldest + 10.0, oldest + 40.0
        # execute: one host in a held window, then a window that has left the ring
        rec = _ask(svc, "pi-a", ["10.0.0.2"], t0, t1)
        old = _ask(svc, "pi-a", ["10.0.0.2"], 1000.0, 1010.0)
    finally:
        stop.set()
        runner.join(30)
        svc.close()
    # assert: exactly that host's frames of the window, intact; the old window is expired
    assert rec.status == "ready", rec.reason
    pcap = tmp_path / "evidence" / f"{rec.evidence_id}.pcap"
    got = [(round(p.ts, 6), p.data) for p in PcapSource(pcap)]
    want = [
        (round(ts, 6), data)
        for ts, data, _w, _l in frames
        if t0 <= ts <= t1 and data[26:30] == addr("10.0.0.2")
    ]
    assert got == want and len(want) >= 100
    assert rec.frames == len(want) and not rec.partial and not rec.truncated
    assert old.status == "expired" and old.oldest_ts is not None and old.oldest_ts > 1010.0


def _ask(svc: EvidenceService, node: str, hosts: list[str], t0: float, t1: float):
    """Ask; once more if the node's subscription was not in place yet (broker: no subscriber)."""
    for _ in range(20):
        got = _wait(svc, svc.request(node, hosts, t0, t1))
        if "did not get it" not in got.reason:
            return got
        time.sleep(0.5)
    return got


def test_a_node_cannot_read_or_answer_another_nodes_evidence_topics(broker):
    # prepare: pi-b listens on pi-a's command topic and its own; the hub writes both
    pki = broker
    snoop = open_subscriber(
        f"mqtts://localhost:{NODE_PORT}",
        [mqtt_evidence_request_topic("pi-a"), mqtt_evidence_request_topic("pi-b")],
        group="", options=pki_client_options(pki, "pi-b"),
    )  # fmt: skip
    hub_sub = open_subscriber(
        f"mqtts://localhost:{SERVICE_PORT}", ["fednids/v1/+/evidence/reply"], group="",
        options=pki_client_options(pki, "hub"),
    )  # fmt: skip
    snoop.wait_subscribed(10)  # type: ignore[attr-defined]
    hub_sub.wait_subscribed(10)  # type: ignore[attr-defined]
    time.sleep(0.5)

    def req(node: str) -> bytes:
        return encode_wire(EvidenceRequest(
            request_id=uuid.uuid4(), node_id=node, hosts=["10.0.0.1"], t0=0, t1=1,
            expires_at=time.time() + 60,
        ))  # fmt: skip

    # execute
    hub_pub = _publisher(pki, "hub", SERVICE_PORT)
    for node in ("pi-a", "pi-b"):
        hub_pub.publish(mqtt_evidence_request_topic(node), req(node))
    hub_pub.flush(10)
    hub_pub.close()
    node_b = _publisher(pki, "pi-b", NODE_PORT)
    results: list = []
    node_b.publish(mqtt_evidence_reply_topic("pi-a"), b"forged", on_delivery=results.append)
    node_b.publish(mqtt_evidence_request_topic("pi-a"), req("pi-a"), on_delivery=results.append)
    node_b.publish(mqtt_evidence_reply_topic("pi-b"), b"own", on_delivery=results.append)
    node_b.flush(10)
    node_b.close()
    seen = collect(snoop, 2)
    replies = collect(hub_sub, 1)
    snoop.close()
    hub_sub.close()
    # assert: pi-b sees only its own command; its writes to pi-a's topics are refused
    assert [m.topic for m in seen] == [mqtt_evidence_request_topic("pi-b")]
    assert results[0] is not None and results[1] is not None and results[2] is None
    assert [(m.topic, m.value) for m in replies] == [(mqtt_evidence_reply_topic("pi-b"), b"own")]


def _publisher(pki, cn: str, port: int):
    pub = open_publisher(f"mqtts://localhost:{port}", pki_client_options(pki, cn))
    pub.wait_connected(10)  # type: ignore[attr-defined]
    return pub
