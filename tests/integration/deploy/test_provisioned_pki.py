"""The provisioned PKI on the real Mosquitto, configured as docker-compose.yml configures it:
a node's bundle certificate publishes under its own prefix only, the bridge's reads it, and
the compose healthcheck command connects."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import yaml

from bridge.mqtt_security import MqttSecurity, listener_fragment, render_acl
from contracts import encode
from contracts.transports import TransportOptions, open_publisher, open_subscriber
from provisioning.hub import provision_hub
from provisioning.node import ProvisionRequest, provision
from tests.harness.servers import MosquittoServer
from tests.integration.helpers import file_client_options
from tests.unit.contracts.samples import flow

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
TLS_PORT = 21995
SERVICE_PORT = 21996


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    d = tmp_path_factory.mktemp("deploy-pki")
    pki = d / "pki"
    provision_hub(pki, d / "ca", ["localhost"])
    provision(ProvisionRequest("pi-a", d / "pi-a", d / "ca"))
    m = pki / "mosquitto"
    sec = MqttSecurity(
        m / "nodes-ca.crt",
        m / "server.crt",
        m / "server.key",
        d / "data",
        port=TLS_PORT,
        bind="127.0.0.1",
        service_ca_file=m / "ca.crt",
        service_port=SERVICE_PORT,
        crl_file=m / "crl.pem",
    )
    acl = d / "acl"
    acl.write_text(render_acl(sec))
    server = MosquittoServer(port=21994, extra_config=listener_fragment(sec, acl))
    server.start()
    yield d
    server.stop()


def _publish(opts: TransportOptions, topic: str, payload: bytes) -> list:
    pub = open_publisher(f"mqtts://localhost:{TLS_PORT}", opts)  # the node listener
    pub.wait_connected(10)  # type: ignore[attr-defined]
    results: list = []
    pub.publish(topic, payload, on_delivery=results.append)
    pub.flush(10)
    pub.close()
    return results


def test_node_bundle_certificate_is_held_to_its_own_prefix(fleet):
    # prepare: the bridge's certificate from provision-hub subscribes to every node's flows
    b = fleet / "pki" / "bridge"
    sub = open_subscriber(
        f"mqtts://localhost:{SERVICE_PORT}",
        ["fednids/v1/+/flows"],
        group="",
        options=file_client_options(b / "ca.crt", b / "client.crt", b / "client.key"),
    )
    sub.wait_subscribed(10)  # type: ignore[attr-defined]
    node = fleet / "pi-a" / "certs"
    opts = file_client_options(node / "ca.crt", node / "node.crt", node / "node.key")
    # execute
    own = _publish(opts, "fednids/v1/pi-a/flows", encode(flow(node_id="pi-a")))
    spoof = _publish(opts, "fednids/v1/pi-b/flows", encode(flow(node_id="pi-b")))
    got, deadline = [], time.monotonic() + 2
    while time.monotonic() < deadline:
        msgs = sub.poll(0.2)
        sub.ack(msgs)
        got += msgs
    sub.close()
    # assert
    assert own == [None]
    assert [m.topic for m in got] == ["fednids/v1/pi-a/flows"]
    assert spoof != [None] or all(m.topic != "fednids/v1/pi-b/flows" for m in got)


def test_compose_healthcheck_command_connects_with_the_health_certificate(fleet):
    test = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["mosquitto"][
        "healthcheck"
    ]["test"]
    assert test[0] == "CMD"
    m = str(fleet / "pki" / "mosquitto")
    argv = [a.replace("/mosquitto/certs", m).replace("8884", str(SERVICE_PORT)) for a in test[1:]]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert res.returncode == 0, res.stderr
    wrong = [
        a.replace("health.crt", "server.crt").replace("health.key", "server.key") for a in argv
    ]
    bad = subprocess.run(wrong, capture_output=True, text=True, timeout=30, check=False)
    assert bad.returncode != 0  # a server certificate is no client certificate
