"""The fleet's two certificate authorities, the node CRL and the record of issued nodes.

``fleet-ca/`` (``--ca-dir``) holds::

    nodes/ca.crt ca.key       the node CA: signs sensor client certificates only
    nodes/crl.pem             its revocation list (PEM), loaded by Mosquitto (``crlfile``)
    nodes/issued.json         node id -> serial numbers issued, so a node can be revoked by name
    services/ca.crt ca.key    the service CA: the broker's and SuperLink's server certificates,
                              the bridge's, the hub's and the health check's client certificates

The broker trusts each CA on its own listener (nodes on 8883, services on 8884), so a
certificate of the node CA never carries a service identity, whatever its CN.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from provisioning.ca import FleetCa, ProvisionError, issue_client, load_or_create_ca
from provisioning.names import check_node_id

CRL_DAYS = 365
"""A CRL past its next update is refused by OpenSSL: `fednids provision crl` renews it."""


@dataclass(frozen=True)
class FleetPki:
    dir: Path
    nodes: FleetCa
    services: FleetCa
    created: bool

    @property
    def crl_path(self) -> Path:
        return self.dir / "nodes" / "crl.pem"

    @property
    def index_path(self) -> Path:
        return self.dir / "nodes" / "issued.json"


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def open_fleet_pki(ca_dir: Path) -> FleetPki:
    """The fleet PKI in ``ca_dir`` (both CAs and an empty CRL are created on first use)."""
    if (ca_dir / "ca.crt").exists() or (ca_dir / "ca.key").exists():
        raise ProvisionError(
            f"{ca_dir} holds one CA for nodes and services alike (ca.crt/ca.key); fednids now "
            "keeps a node CA and a service CA apart: provision into a new --ca-dir and "
            "re-issue the hub's (provision-hub) and the nodes' certificates"
        )
    nodes, new_nodes = load_or_create_ca(ca_dir / "nodes", "fednids node CA")
    services, new_services = load_or_create_ca(ca_dir / "services", "fednids service CA")
    pki = FleetPki(ca_dir, nodes, services, new_nodes or new_services)
    if not pki.crl_path.exists():
        write_crl(pki, {})
    return pki


def _load_index(pki: FleetPki) -> dict[str, list[str]]:
    if not pki.index_path.exists():
        return {}
    try:
        data = json.loads(pki.index_path.read_text())
    except (OSError, ValueError) as exc:
        raise ProvisionError(f"{pki.index_path}: unreadable: {exc}") from exc
    if not isinstance(data, dict):
        raise ProvisionError(f"{pki.index_path}: not a JSON object")
    return {str(k): [str(s) for s in v] for k, v in data.items()}


def issue_node(pki: FleetPki, node_id: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A node's client certificate from the node CA (reserved names refused), recorded."""
    check_node_id(node_id)
    cert, key = issue_client(pki.nodes, node_id)
    index = _load_index(pki)
    index.setdefault(node_id, []).append(format(cert.serial_number, "x"))
    _atomic_write(pki.index_path, json.dumps(index, indent=1, sort_keys=True).encode())
    return cert, key


def issue_service(pki: FleetPki, name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A service's client certificate (bridge, hub, healthcheck) from the service CA."""
    return issue_client(pki.services, name)


def load_crl(pki: FleetPki) -> x509.CertificateRevocationList:
    try:
        return x509.load_pem_x509_crl(pki.crl_path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ProvisionError(f"{pki.crl_path}: cannot read the CRL: {exc}") from exc


def revoked(pki: FleetPki) -> dict[int, dt.datetime]:
    """Serial number -> revocation time of every certificate in the node CRL."""
    return {r.serial_number: r.revocation_date_utc for r in load_crl(pki)}


def write_crl(pki: FleetPki, entries: dict[int, dt.datetime]) -> x509.CertificateRevocationList:
    """Sign and write the node CRL with ``entries`` (serial -> revocation time), atomically."""
    now = dt.datetime.now(dt.UTC)
    number = 1
    if pki.crl_path.exists():
        ext = load_crl(pki).extensions.get_extension_for_class(x509.CRLNumber)
        number = ext.value.crl_number + 1
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(pki.nodes.cert.subject)
        .last_update(now - dt.timedelta(minutes=5))
        .next_update(now + dt.timedelta(days=CRL_DAYS))
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(pki.nodes.key.public_key()),
            critical=False,
        )
    )
    for serial, when in sorted(entries.items()):
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
        )
    crl = builder.sign(pki.nodes.key, hashes.SHA256())
    _atomic_write(pki.crl_path, crl.public_bytes(serialization.Encoding.PEM))
    return crl


def revoke_node(pki: FleetPki, node_id: str) -> list[int]:
    """Revoke every certificate issued to ``node_id``; returns the serials newly revoked."""
    serials = [int(s, 16) for s in _load_index(pki).get(node_id, [])]
    if not serials:
        raise ProvisionError(f"no certificate was issued to node {node_id!r} by {pki.dir}")
    entries = revoked(pki)
    new = [s for s in serials if s not in entries]
    now = dt.datetime.now(dt.UTC)
    entries.update({s: now for s in new})
    write_crl(pki, entries)
    return new
