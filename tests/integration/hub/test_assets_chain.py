"""An asset a sensor learns passively reaches the hub's API through the REAL chain: a real
agent (pcap source: a DHCP request and an mDNS announcement) -> Mosquitto (``assets`` kind)
-> ``fednids bridge`` -> Kafka (``assets`` topic) -> ``fednids hub ingestor`` -> PostgreSQL
-> ``GET /api/assets``.

Private Kafka and Mosquitto (harness classes, own ports): the ingestor's consumer group is
fixed, so a shared Kafka would split the topic with other tests' ingestors. PostgreSQL is the
shared one, in a schema of this test's own."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import SQLAlchemyError

from contracts.topics import KafkaTopic
from contracts.transports import parse_url
from contracts.transports.kafka import ensure_topics
from edge_agent.agent import Agent
from edge_agent.capture.frames import write_pcap
from edge_agent.capture.pcap import PcapSource
from edge_agent.settings import AgentSettings
from hub.api.app import create_app
from hub.settings import HubSettings
from hub.storage import EventStore
from hub.storage.tokens import create_token
from tests.harness.servers import KafkaServer, MosquittoServer
from tests.integration.bridge.test_bridge_real import _bridge
from tests.integration.hub.test_ingestor_faults import _ingestor, _schema_url
from tests.unit.edge_agent.inventory_frames import (
    MDNS_MAC,
    PI_MAC,
    dhcp_request,
    frame_of,
    mdns_announcement,
    udp_packet,
)

pytestmark = pytest.mark.integration
KAFKA_PORT, MQTT_PORT = 29541, 21941


def _stop(proc: subprocess.Popen) -> None:  # type: ignore[type-arg]
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_an_asset_seen_by_a_sensor_is_listed_by_the_hub(tmp_path, postgres_server: Any):
    # prepare: private brokers, the bridge and the ingestor, a capture with one device
    node = f"a{uuid.uuid4().hex[:6]}-pi"
    now = time.time()
    pcap = tmp_path / "device.pcap"
    write_pcap(
        pcap,
        [
            frame_of(
                udp_packet(PI_MAC, "0.0.0.0", "255.255.255.255", 68, 67, dhcp_request(), ts=now)
            ),
            frame_of(
                udp_packet(
                    PI_MAC, "192.168.2.16", "224.0.0.251", 5353, 5353, mdns_announcement(),
                    MDNS_MAC, now + 1,
                )
            ),
        ],
    )  # fmt: skip
    kafka, broker = KafkaServer(port=KAFKA_PORT), MosquittoServer(port=MQTT_PORT)
    procs: list[subprocess.Popen] = []  # type: ignore[type-arg]
    try:
        kafka.start()
        broker.start()
        ensure_topics(parse_url(kafka.url), [t.value for t in KafkaTopic])
        db = _schema_url(postgres_server.url)
        procs.append(_bridge(broker.url, kafka.url, f"br-{node}"))
        procs.append(_ingestor(kafka.url, db))
        settings = AgentSettings(
            node_id=node,
            mqtt_url=broker.url,
            outbox_path=tmp_path / "outbox.db",
            baseline=False,
            ioc=False,
        )

        # execute: the agent reads the capture and publishes; the hub stores and lists
        counters = Agent(settings, source=PcapSource(pcap)).run(threading.Event())
        store = EventStore(db)
        items: list[dict[str, Any]] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                items = store.list_assets(node_id=node)[0]
            except SQLAlchemyError:  # the ingestor may not have made the schema yet
                items = []
            if items and items[0]["mdns_names"]:
                break
            time.sleep(0.5)
        token = create_token(store, "rd", "read")
        with TestClient(create_app(HubSettings(), store)) as client:
            body = client.get(
                "/api/assets",
                params={"node_id": node, "q": "black-pearl"},
                headers={"Authorization": f"Bearer {token}"},
            ).json()
    finally:
        for p in procs:
            _stop(p)
        kafka.stop()
        broker.stop()

    # assert: one asset, with what the DHCP request and the mDNS announcement said
    assert counters["inventory_assets"] == 1
    assert counters["outbox_left"] == 0
    assert [i["mac"] for i in body["items"]] == ["b8:27:eb:c7:e9:c9"]
    asset = body["items"][0]
    assert asset["hostname"] == "black-pearl"
    assert asset["dhcp_prl"] == [1, 121, 3, 6, 15, 119, 252]
    assert asset["ips"] == ["192.168.2.16"]
    assert "black-pearl.local" in asset["mdns_names"]
    assert asset["first_seen"] == pytest.approx(now, abs=1e-3)
    assert asset["last_seen"] == pytest.approx(now + 1, abs=1e-3)
