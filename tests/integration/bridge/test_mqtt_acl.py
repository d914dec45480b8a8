"""Mutual TLS and the per-node ACL on the real Mosquitto, configured from our templates."""

from __future__ import annotations

import time

import pytest

from bridge.mqtt_security import MqttSecurity, listener_fragment, render_acl
from contracts import encode
from contracts.transports import TransportOptions, open_publisher, open_subscriber
from tests.harness.certs import make_test_pki
from tests.harness.servers import MosquittoServer
from tests.integration.helpers import collect, pki_client_options
from tests.unit.contracts.samples import flow

pytestmark = pytest.mark.integration
TLS_PORT = 21895
SERVICE_PORT = 21896  # the service listener (bridge, hub)
SERVICES = ("bridge", "hub")


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    d = tmp_path_factory.mktemp("mqtt-sec")
    pki = make_test_pki(d / "pki", clients=("node-a", "node-b", "bridge", "hub"))
    sec = MqttSecurity(
        pki.ca,
        pki.server.cert,
        pki.server.key,
        d / "data",
        port=TLS_PORT,
        bind="127.0.0.1",
        service_port=SERVICE_PORT,
    )
    acl = d / "acl"
    acl.write_text(render_acl(sec))
    server = MosquittoServer(port=21894, extra_config=listener_fragment(sec, acl))
    server.start()
    yield pki
    server.stop()


def _port(cn):
    return SERVICE_PORT if cn in SERVICES else TLS_PORT


def _publish(pki, cn, topic, payload, retain=False):
    pub = open_publisher(f"mqtts://localhost:{_port(cn)}", pki_client_options(pki, cn))
    pub.wait_connected(10)  # type: ignore[attr-defined]
    results: list = []
    pub.publish(topic, payload, on_delivery=results.append, retain=retain)
    pub.flush(10)
    pub.close()
    return results


def test_a_node_cannot_publish_as_another_node(secured):
    pki = secured
    sub = open_subscriber(
        f"mqtts://localhost:{SERVICE_PORT}",
        ["fednids/v1/+/flows"],
        group="g",
        options=pki_client_options(pki, "bridge"),
    )
    sub.wait_subscribed(10)  # type: ignore[attr-defined]
    own = _publish(pki, "node-a", "fednids/v1/node-a/flows", encode(flow(node_id="node-a")))
    spoof = _publish(pki, "node-a", "fednids/v1/node-b/flows", encode(flow(node_id="node-b")))
    got = collect(sub, 2)
    sub.close()
    assert own == [None]
    assert spoof and spoof[0] is not None, "the broker must refuse the spoofed publish"
    assert [m.topic for m in got] == ["fednids/v1/node-a/flows"]


def test_a_node_cannot_write_the_model_topic_but_the_hub_can(secured):
    pki = secured
    node = _publish(pki, "node-a", "fednids/v1/model/current", b"evil", retain=True)
    hub = _publish(pki, "hub", "fednids/v1/model/current", b"signed-model", retain=True)
    reader = open_subscriber(
        f"mqtts://localhost:{TLS_PORT}",
        ["fednids/v1/model/current"],
        group="",
        options=pki_client_options(pki, "node-b"),
    )
    got = collect(reader, 2)
    reader.close()
    assert node and node[0] is not None
    assert hub == [None]
    assert [m.value for m in got] == [b"signed-model"]


def test_a_node_cannot_read_other_nodes(secured):
    pki = secured
    snoop = open_subscriber(
        f"mqtts://localhost:{TLS_PORT}",
        ["fednids/v1/node-b/#"],
        group="",
        options=pki_client_options(pki, "node-a"),
    )
    time.sleep(1)
    _publish(pki, "node-b", "fednids/v1/node-b/flows", encode(flow(node_id="node-b")))
    got = collect(snoop, 2)
    snoop.close()
    assert got == []


def test_clients_without_a_certificate_are_refused(secured):
    pki = secured
    pub = open_publisher(
        f"mqtts://localhost:{TLS_PORT}", TransportOptions(ca_file=pki.ca, clean_start=True)
    )
    time.sleep(2)
    assert not pub.connected  # type: ignore[attr-defined]
    pub.close()
