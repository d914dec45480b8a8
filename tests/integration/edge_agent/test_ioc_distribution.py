"""Threat intel end to end on the real Mosquitto: the hub imports and publishes a signed
bundle retained, a running agent installs it, a flow to an indicated address becomes an
``ioc`` AnomalyEvent on the agent's anomalies topic; a tampered bundle is refused and the old
one keeps matching."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from contracts.indicator_wire import encode_manifest, sign_bundle
from contracts.signing import generate_keypair, load_private_key
from contracts.topics import MQTT_INTEL_TOPIC, mqtt_intel_part
from contracts.transports import TransportOptions, open_publisher, open_subscriber
from edge_agent.agent import Agent
from edge_agent.capture.packet import Packet, ParseStats
from edge_agent.settings import AgentSettings
from hub.intel.common import FeedDefaults
from hub.intel.feeds import import_feeds
from hub.intel.publish import PublishConfig, publish_bundle
from hub.intel.store import read_bundle
from tests.integration.helpers import drain_until_offline, pki_client_options

pytestmark = pytest.mark.integration
BAD_V1 = "198.51.100.7"
FIXTURES = Path(__file__).parents[2] / "fixtures" / "intel"
BAD_V2 = "192.0.2.66"


def _udp(src: str, dst: str, sport: int, t: float) -> list[Packet]:
    a, b = socket.inet_aton(src), socket.inet_aton(dst)
    out = []
    for i in range(3):
        out.append(Packet(t + i * 0.01, a, b, sport, 53, 17, 60, 28, 32))
        out.append(Packet(t + i * 0.01 + 0.005, b, a, 53, sport, 17, 90, 28, 62))
    return out


class GatedSource:
    """A live-like source: idles (``None``) until each phase's condition holds, then yields
    its packets; ends after the last phase."""

    def __init__(self, phases: list[tuple[Callable[[], bool], list[Packet]]]) -> None:
        self.phases = phases
        self.stats = ParseStats()

    def __iter__(self) -> Iterator[Packet | None]:
        for ready, packets in self.phases:
            deadline = time.monotonic() + 60
            while not ready():
                if time.monotonic() > deadline:
                    raise AssertionError("the agent never reached the expected state")
                time.sleep(0.05)
                yield None
            yield from packets


def _publish_raw(url: str, messages: list[tuple[str, bytes]]) -> None:
    pub = open_publisher(url, TransportOptions(client_id=f"hub-{uuid.uuid4().hex[:6]}"))
    for topic, payload in messages:
        pub.publish(topic, payload, retain=True)
    assert pub.flush(15) == 0
    pub.close()


@pytest.mark.parametrize("feed", ["list", "stix", "misp"])
def test_a_published_bundle_reaches_the_agent_and_a_tampered_one_is_refused(
    tmp_path: Path, mosquitto_server, feed: str
):
    # prepare: the hub's key, a feed (a plain list, a STIX 2.1 bundle or a MISP event, each
    # naming BAD_V1 with high confidence) imported into a bundle
    url = mosquitto_server.url
    priv, pub = generate_keypair(tmp_path / "keys")
    if feed == "list":
        feed_file = tmp_path / "feed.txt"
        feed_file.write_text(f"# test feed\n{BAD_V1}\n")
    else:
        name = "feed.stix.json" if feed == "stix" else "event.misp.json"
        feed_file = tmp_path / name
        feed_file.write_bytes((FIXTURES / name).read_bytes())
    bundle_path = tmp_path / "intel" / "bundle.json"
    import_feeds([feed_file], FeedDefaults(source="testfeed", confidence=90), bundle_path)
    node = f"ioc{uuid.uuid4().hex[:6]}"
    anomalies = open_subscriber(
        url,
        [f"fednids/v1/{node}/anomalies", f"fednids/v1/{node}/status"],
        group="",
        options=TransportOptions(client_id=f"col-{node}"),
    )
    anomalies.wait_subscribed(15)  # type: ignore[attr-defined]
    holder: dict[str, Agent] = {}

    def installed() -> bool:
        ag = holder.get("agent")
        return ag is not None and ag.ioc is not None and ag.ioc.bundle_version > 0

    def refused() -> bool:
        ag = holder["agent"]
        return ag.ioc_updater is not None and ag.ioc_updater.refused["signature"] >= 1

    now = time.time()
    source = GatedSource(
        [
            (installed, _udp("10.9.0.5", BAD_V1, 40001, now)),
            (
                refused,
                _udp("10.9.0.6", BAD_V1, 40002, now + 1) + _udp("10.9.0.7", BAD_V2, 40003, now + 1),
            ),
        ]
    )
    settings = AgentSettings(
        node_id=node,
        mqtt_url=url,
        outbox_path=tmp_path / "outbox.db",
        model_public_keys=[pub],
        baseline=False,
        heartbeat_s=0.5,
    )
    agent = Agent(settings, source=source)
    holder["agent"] = agent
    runner = threading.Thread(target=agent.run, args=(threading.Event(),), daemon=True)
    try:
        # execute: publish v1 through the hub's publisher, start the agent
        m1 = publish_bundle(bundle_path, PublishConfig(signing_key=priv, mqtt_url=url))
        runner.start()
        deadline = time.monotonic() + 30
        while not installed() and time.monotonic() < deadline:
            time.sleep(0.1)
        # a newer bundle naming BAD_V2 instead, tampered after signing
        b1 = read_bundle(bundle_path)
        assert b1 is not None
        v2 = b1.model_copy(
            update={
                "version": b1.version + 1,
                "indicators": [b1.indicators[0].model_copy(update={"value": BAD_V2})],
            }
        )
        m2, p2 = sign_bundle(v2, load_private_key(priv))
        forged = m2.model_copy(update={"count": m2.count + 1})
        _publish_raw(
            url, [(mqtt_intel_part(0), p2[0]), (MQTT_INTEL_TOPIC, encode_manifest(forged))]
        )
        runner.join(60)
        # assert: what the agent sent over the broker
        events = drain_until_offline(anomalies, 20)
    finally:
        _publish_raw(url, [(MQTT_INTEL_TOPIC, b""), *((mqtt_intel_part(i), b"") for i in range(2))])
        anomalies.close()
    assert not runner.is_alive()
    # at least once: a redelivered message is the same event (same event id)
    iocs = list(
        {e.event_id: e for e in events if e.kind == "anomaly" and e.detector == "ioc"}.values()
    )
    assert sorted(e.src_ip for e in iocs) == ["10.9.0.5", "10.9.0.6"]  # v1 still matches
    assert all(e.evidence["indicator"] == BAD_V1 for e in iocs)
    assert all(e.evidence["sources"] == "testfeed" and e.severity == "high" for e in iocs)
    assert {e.evidence["bundle_version"] for e in iocs} == {m1.version}
    last = [e for e in events if e.kind == "status"][-1]
    assert last.drops.get("ioc_refused_signature", 0) >= 1


def test_only_the_hub_may_write_the_intel_topics_and_nodes_read_them(tmp_path: Path):
    # prepare: a private broker with the fleet's TLS listeners and ACLs from our templates
    from bridge.mqtt_security import MqttSecurity, listener_fragment, render_acl
    from tests.harness.certs import make_test_pki
    from tests.harness.servers import MosquittoServer

    pki = make_test_pki(tmp_path / "pki", clients=("node-a", "node-b", "hub"))
    sec = MqttSecurity(
        pki.ca,
        pki.server.cert,
        pki.server.key,
        tmp_path / "data",
        port=21897,
        bind="127.0.0.1",
        service_port=21898,
    )
    acl = tmp_path / "acl"
    acl.write_text(render_acl(sec))
    server = MosquittoServer(port=21899, extra_config=listener_fragment(sec, acl))
    server.start()

    def opts(cn: str) -> TransportOptions:
        return pki_client_options(pki, cn)

    def publish(cn: str, port: int, topic: str, payload: bytes) -> list:
        p = open_publisher(f"mqtts://localhost:{port}", opts(cn))
        p.wait_connected(10)  # type: ignore[attr-defined]
        results: list = []
        p.publish(topic, payload, on_delivery=results.append, retain=True)
        p.flush(10)
        p.close()
        return results

    try:
        # execute: a node tries to write the manifest and a part; the hub writes both
        node_m = publish("node-a", 21897, MQTT_INTEL_TOPIC, b"evil")
        node_p = publish("node-a", 21897, mqtt_intel_part(0), b"evil")
        hub_m = publish("hub", 21898, MQTT_INTEL_TOPIC, b"manifest")
        hub_p = publish("hub", 21898, mqtt_intel_part(0), b"part")
        reader = open_subscriber(
            "mqtts://localhost:21897",
            [MQTT_INTEL_TOPIC, "fednids/v1/intel/part/+"],
            group="",
            options=opts("node-b"),
        )
        got, deadline = [], time.monotonic() + 3
        while time.monotonic() < deadline:
            msgs = reader.poll(0.2)
            reader.ack(msgs)
            got += msgs
        reader.close()
    finally:
        server.stop()
    # assert
    assert node_m and node_m[0] is not None and node_p and node_p[0] is not None
    assert hub_m == [None] and hub_p == [None]
    assert sorted(m.value for m in got) == [b"manifest", b"part"]
