"""Provisioning refuses node ids that could be taken for a service or escape a topic, keeps
node and service identities on separate CAs, and revokes a node by name (issue 15 item 3)."""

from __future__ import annotations

import json

import pytest
from cryptography import x509

from fednids.cli import main
from provisioning.names import SERVICE_NAMES
from provisioning.node import ProvisionError, ProvisionRequest, provision
from provisioning.pki import open_fleet_pki, revoked


@pytest.mark.parametrize(
    ("node_id", "match"),
    [
        ("model", "name of a fednids service"),
        ("hub", "name of a fednids service"),
        ("bridge", "name of a fednids service"),
        ("api", "name of a fednids service"),
        ("fl", "name of a fednids service"),
        ("superlink", "name of a fednids service"),
        ("admin", "name of a fednids service"),
        ("mosquitto", "name of a fednids service"),
        ("healthcheck", "name of a fednids service"),
        ("flows", "reserved word"),
        ("status", "reserved word"),
        ("share", "reserved word"),
        ("hub-2", "kept for services"),
        ("bridge-a", "kept for services"),
        ("$SYS", "invalid node id"),
        ("$share", "invalid node id"),
        ("+", "invalid node id"),
        ("#", "invalid node id"),
        ("pi/1", "invalid node id"),
        ("pi-+", "invalid node id"),
        ("pi-#", "invalid node id"),
        ("Model", "invalid node id"),
        ("pi\n", "invalid node id"),
        ("pi 1", "invalid node id"),
    ],
)
def test_reserved_and_topic_breaking_node_ids_are_refused(tmp_path, node_id, match):
    with pytest.raises(ProvisionError, match=match):
        provision(ProvisionRequest(node_id, tmp_path / "b", tmp_path / "ca"))
    assert not (tmp_path / "b").exists() and not (tmp_path / "ca").exists()


def test_every_service_name_is_refused_and_an_ordinary_name_is_not(tmp_path):
    for name in sorted(SERVICE_NAMES):
        with pytest.raises(ProvisionError, match="reserved"):
            provision(ProvisionRequest(name, tmp_path / name, tmp_path / "ca"))
    summary = provision(ProvisionRequest("lab-pi-01", tmp_path / "ok", tmp_path / "ca"))
    assert summary["node_id"] == "lab-pi-01"


def test_cli_refuses_a_service_name_with_exit_2(tmp_path, caplog):
    rc = main(
        [
            "provision",
            "--node-id",
            "bridge",
            "--out",
            str(tmp_path / "b"),
            "--ca-dir",
            str(tmp_path / "ca"),
        ]
    )
    assert rc == 2
    assert "reserved" in caplog.text and not (tmp_path / "b").exists()


def test_node_and_service_cas_are_distinct(tmp_path):
    pki = open_fleet_pki(tmp_path / "ca")
    assert pki.nodes.cert.subject != pki.services.cert.subject
    assert pki.nodes.cert.public_key() != pki.services.cert.public_key()


def test_revoke_puts_every_certificate_of_the_node_in_the_crl(tmp_path, capsys):
    # prepare: a node provisioned twice (re-flashed) and another node
    ca = tmp_path / "ca"
    provision(ProvisionRequest("pi-1", tmp_path / "b1", ca))
    provision(ProvisionRequest("pi-1", tmp_path / "b1", ca, force=True))
    provision(ProvisionRequest("pi-2", tmp_path / "b2", ca))
    old = x509.load_pem_x509_certificate((tmp_path / "b2/certs/node.crt").read_bytes())
    pki = open_fleet_pki(ca)
    assert revoked(pki) == {}
    # execute
    rc = main(
        ["provision", "revoke", "pi-1", "--ca-dir", str(ca), "--pki-dir", str(tmp_path / "pki")]
    )
    out = json.loads(capsys.readouterr().out)
    # assert
    assert rc == 0 and len(out["revoked_now"]) == 2
    crl = x509.load_pem_x509_crl(pki.crl_path.read_bytes())
    assert crl.is_signature_valid(pki.nodes.cert.public_key())  # type: ignore[arg-type]
    assert (
        len(list(crl)) == 2
        and crl.get_revoked_certificate_by_serial_number(old.serial_number) is None
    )
    assert (tmp_path / "pki/mosquitto/crl.pem").read_bytes() == pki.crl_path.read_bytes()
    # revoking again adds nothing; an unknown node is a clear error
    assert main(["provision", "revoke", "pi-1", "--ca-dir", str(ca)]) == 0
    assert len(revoked(pki)) == 2
    assert main(["provision", "revoke", "pi-9", "--ca-dir", str(ca)]) == 2


def test_crl_renewal_keeps_the_entries_and_raises_the_number(tmp_path, capsys):
    ca = tmp_path / "ca"
    provision(ProvisionRequest("pi-1", tmp_path / "b1", ca))
    main(["provision", "revoke", "pi-1", "--ca-dir", str(ca)])
    pki = open_fleet_pki(ca)
    before = x509.load_pem_x509_crl(pki.crl_path.read_bytes())
    assert main(["provision", "crl", "--ca-dir", str(ca)]) == 0
    after = x509.load_pem_x509_crl(pki.crl_path.read_bytes())
    number = lambda c: c.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number  # noqa: E731
    assert number(after) == number(before) + 1
    assert {r.serial_number for r in after} == {r.serial_number for r in before}
