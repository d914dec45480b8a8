"""``fednids provision``: the bundle's certificates, keys, settings and cloud-init files."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from edge_agent.settings import AgentSettings
from fednids.cli import main
from provisioning.node import ProvisionError, ProvisionRequest, provision


def _env(path: Path) -> dict[str, str]:
    """Read an environment file the way systemd does for the values we write."""
    out = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            k, v = line.split("=", 1)
            out[k] = v[1:-1] if v.startswith("'") and v.endswith("'") else v
    return out


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_bundle_has_a_client_certificate_for_the_node_signed_by_the_node_ca(tmp_path):
    # execute
    summary = provision(ProvisionRequest("pi-lab-01", tmp_path / "b", tmp_path / "ca"))
    # assert
    b = tmp_path / "b"
    ca = x509.load_pem_x509_certificate((tmp_path / "ca" / "nodes" / "ca.crt").read_bytes())
    cert = x509.load_pem_x509_certificate((b / "certs" / "node.crt").read_bytes())
    cert.verify_directly_issued_by(ca)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "pi-lab-01"
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in eku
    key = serialization.load_pem_private_key((b / "certs" / "node.key").read_bytes(), None)
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()
    # the node verifies the hub's servers, which the service CA signed
    services = (tmp_path / "ca" / "services" / "ca.crt").read_bytes()
    assert (b / "certs" / "ca.crt").read_bytes() == services
    assert summary["ca_created"] is True
    for secret in (
        tmp_path / "ca" / "nodes" / "ca.key",
        tmp_path / "ca" / "services" / "ca.key",
        b / "certs" / "node.key",
        b / "flower" / "node.key",
        b / "balena-device.env",
        b / "cloud-init" / "raspios-bookworm" / "user-data",
    ):
        assert _mode(secret) == 0o600, secret


def test_the_fleet_ca_is_reused_for_the_next_node(tmp_path):
    provision(ProvisionRequest("pi-1", tmp_path / "b1", tmp_path / "ca"))
    first = (tmp_path / "ca" / "nodes" / "ca.crt").read_bytes()
    summary = provision(ProvisionRequest("pi-2", tmp_path / "b2", tmp_path / "ca"))
    assert summary["ca_created"] is False
    assert (tmp_path / "ca" / "nodes" / "ca.crt").read_bytes() == first
    ca = x509.load_pem_x509_certificate(first)
    x509.load_pem_x509_certificate(
        (tmp_path / "b2/certs/node.crt").read_bytes()
    ).verify_directly_issued_by(ca)


def test_flower_node_key_is_p256_in_openssh_format_as_the_supernode_loads_it(tmp_path):
    provision(ProvisionRequest("pi-1", tmp_path / "b", tmp_path / "ca"))
    priv = serialization.load_ssh_private_key((tmp_path / "b/flower/node.key").read_bytes(), None)
    pub = serialization.load_ssh_public_key((tmp_path / "b/flower/node.pub").read_bytes())
    assert isinstance(priv, ec.EllipticCurvePrivateKey) and isinstance(priv.curve, ec.SECP256R1)
    assert priv.public_key().public_numbers() == pub.public_numbers()  # type: ignore[union-attr]
    assert (tmp_path / "b/flower/node.pub").read_text().startswith("ecdsa-sha2-nistp256 ")


def test_agent_env_file_is_valid_agent_settings(tmp_path, monkeypatch):
    # prepare
    key = tmp_path / "model-signing.pub"
    key.write_text("not checked here\n")
    provision(
        ProvisionRequest(
            "pi_lab_7",
            tmp_path / "b",
            tmp_path / "ca",
            mqtt_url="mqtts://hub.example:8883",
            iface="enp1s0",
            model_keys=(key,),
            fleet_id="lab-fleet",
        )
    )
    for k in [k for k in list(__import__("os").environ) if k.startswith("FEDNIDS_AGENT_")]:
        monkeypatch.delenv(k)
    for k, v in _env(tmp_path / "b" / "agent.env").items():
        monkeypatch.setenv(k, v)
    # execute
    s = AgentSettings()  # type: ignore[call-arg]
    # assert
    assert s.node_id == "pi_lab_7" and s.source == "live:enp1s0"
    assert s.mqtt_url == "mqtts://hub.example:8883"
    assert s.cert_file == Path("/etc/fednids/certs/node.crt")
    assert s.model_public_keys == [Path("/etc/fednids/model-keys/model-signing.pub")]
    assert s.fleet_id == "lab-fleet"
    fl = _env(tmp_path / "b" / "fl.env")
    assert fl["FEDNIDS_FL_SUPERLINK"] == "fednids-hub.local:9092"
    assert 'node-id="pi_lab_7"' in fl["FEDNIDS_FL_NODE_CONFIG"]
    user_data = (tmp_path / "b/cloud-init/ubuntu-server/user-data").read_text()
    assert "hostname: pi-lab-7" in user_data  # '_' is not allowed in host names


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("node_id", "Pi.1", "invalid node id"),
        ("node_id", "", "invalid node id"),
        ("node_id", "-pi", "invalid node id"),
        ("node_id", "a" * 64, "invalid node id"),
        ("mqtt_url", "mqtt://hub:1883", "mutual TLS"),
        ("superlink", "hub", "HOST:PORT"),
        ("iface", "eth0; rm -rf /", "interface"),
        ("package", "x'; reboot; '", "quotes"),
        ("fleet_id", "Fleet A", "fleet-id"),
    ],
)
def test_bad_input_is_refused_before_anything_is_written(tmp_path, field, value, match):
    kwargs = {"node_id": "pi-1", "out": tmp_path / "b", "ca_dir": tmp_path / "ca", field: value}
    with pytest.raises(ProvisionError, match=match):
        provision(ProvisionRequest(**kwargs))  # type: ignore[arg-type]
    assert not (tmp_path / "b").exists() and not (tmp_path / "ca").exists()


def test_an_existing_bundle_is_not_overwritten_without_force(tmp_path):
    provision(ProvisionRequest("pi-1", tmp_path / "b", tmp_path / "ca"))
    old = (tmp_path / "b/certs/node.crt").read_bytes()
    with pytest.raises(ProvisionError, match="not empty"):
        provision(ProvisionRequest("pi-1", tmp_path / "b", tmp_path / "ca"))
    provision(ProvisionRequest("pi-1", tmp_path / "b", tmp_path / "ca", force=True))
    assert (tmp_path / "b/certs/node.crt").read_bytes() != old


def test_a_half_ca_directory_is_refused(tmp_path):
    (tmp_path / "ca" / "nodes").mkdir(parents=True)
    (tmp_path / "ca" / "nodes" / "ca.crt").write_text("x")
    with pytest.raises(ProvisionError, match="only one of"):
        provision(ProvisionRequest("pi-1", tmp_path / "b", tmp_path / "ca"))


def test_a_single_ca_for_nodes_and_services_is_refused(tmp_path):
    # prepare: the layout of fednids 0.1 (one CA signed nodes and services alike)
    (tmp_path / "ca").mkdir()
    (tmp_path / "ca" / "ca.crt").write_text("x")
    (tmp_path / "ca" / "ca.key").write_text("x")
    # execute / assert
    with pytest.raises(ProvisionError, match="node CA and a service CA"):
        provision(ProvisionRequest("pi-1", tmp_path / "b", tmp_path / "ca"))


def test_cli_writes_the_bundle_and_exits_2_on_a_bad_node_id(tmp_path, capsys):
    rc = main(
        [
            "provision",
            "--node-id",
            "pi-9",
            "--out",
            str(tmp_path / "b"),
            "--ca-dir",
            str(tmp_path / "ca"),
        ]
    )
    assert rc == 0 and '"node_id": "pi-9"' in capsys.readouterr().out
    assert (tmp_path / "b/cloud-init/raspios-bookworm/user-data").is_file()
    rc = main(
        [
            "provision",
            "--node-id",
            "PI 9",
            "--out",
            str(tmp_path / "c"),
            "--ca-dir",
            str(tmp_path / "ca"),
        ]
    )
    assert rc == 2 and not (tmp_path / "c").exists()


def test_provision_hub_lays_out_one_folder_per_container(tmp_path):
    from provisioning.hub import provision_hub

    summary = provision_hub(tmp_path / "pki", tmp_path / "ca", ["hub.example", "10.0.0.2"], sim=3)
    pki = tmp_path / "pki"
    assert summary["folders"] == sorted(
        ["bridge", "hub", "mosquitto", "sim-1", "sim-2", "sim-3", "superlink"]
    )
    services = x509.load_pem_x509_certificate((tmp_path / "ca/services/ca.crt").read_bytes())
    nodes = x509.load_pem_x509_certificate((tmp_path / "ca/nodes/ca.crt").read_bytes())
    server = x509.load_pem_x509_certificate((pki / "mosquitto" / "server.crt").read_bytes())
    server.verify_directly_issued_by(services)
    assert (pki / "mosquitto" / "nodes-ca.crt").read_bytes() == (
        tmp_path / "ca/nodes/ca.crt"
    ).read_bytes()
    assert (pki / "mosquitto" / "crl.pem").read_bytes() == (
        tmp_path / "ca/nodes/crl.pem"
    ).read_bytes()
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"hub.example", "mosquitto", "localhost"} <= set(san.get_values_for_type(x509.DNSName))
    for folder, cn in (("bridge", "bridge"), ("hub", "hub"), ("sim-2", "sim-2")):
        c = x509.load_pem_x509_certificate((pki / folder / "client.crt").read_bytes())
        assert c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == cn
        # services from the service CA, simulated agents are nodes (node CA)
        c.verify_directly_issued_by(nodes if folder.startswith("sim-") else services)
        assert _mode(pki / folder / "client.key") == 0o600
        extra = ["share-group"] if folder == "bridge" else []
        assert sorted(p.name for p in (pki / folder).iterdir()) == sorted(
            ["ca.crt", "client.crt", "client.key", *extra]
        )
    group = (pki / "bridge" / "share-group").read_text().strip()
    assert len(group) >= 32 and "/" not in group and "+" not in group and "#" not in group
    assert _mode(pki / "bridge" / "share-group") == 0o600
    provision_hub(tmp_path / "pki", tmp_path / "ca", ["hub.example"])  # kept on a re-run
    assert (pki / "bridge" / "share-group").read_text().strip() == group
    with pytest.raises(ProvisionError, match="hostname"):
        provision_hub(tmp_path / "pki2", tmp_path / "ca", [])
