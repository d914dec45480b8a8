"""``fednids provision-hub``: the hub side of the fleet PKI, laid out for docker-compose.yml.

One folder per container, each with ``ca.crt`` (the service CA, which signed every hub
server) and only that container's own key: ``mosquitto/`` (server certificate, a
``health`` client certificate for its healthcheck, ``nodes-ca.crt`` and ``crl.pem``, the node
CA and its revocation list for the node listener), ``superlink/`` (server certificate),
``bridge/`` and ``hub/`` (client certificates of the service CA whose CNs the service ACL
names; ``bridge/share-group``, the bridges' secret shared-subscription group), and with
``--sim N`` the simulated agents ``sim-1`` ... ``sim-N`` (node CA).
Keys are 0600; ``--chown`` (as root) hands each folder to the uid its container runs as.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from provisioning.ca import FleetCa, ProvisionError, issue_server, pem_key, write_private
from provisioning.pki import FleetPki, issue_node, issue_service, open_fleet_pki

HUB_UID = 10001  # the `fednids` user of docker/hub.Dockerfile and docker/agent.Dockerfile
MOSQUITTO_UID = 1883  # the `mosquitto` user of the eclipse-mosquitto image


def _pair(d: Path, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{stem}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    write_private(d / f"{stem}.key", pem_key(key))


def _with_ca(ca: FleetCa, d: Path, name: str = "ca.crt") -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(ca.cert.public_bytes(serialization.Encoding.PEM))


def share_group(bridge_dir: Path) -> str:
    """The bridges' shared-subscription group, kept secret (``<pki>/bridge/share-group``).

    Mosquitto's ACL file cannot refuse a SUBSCRIBE, and a shared subscription drops what it
    hands to a member whose read is refused: a node that joined the bridges' group would
    silently halve their feed. A random group name a node cannot guess keeps it out.
    """
    path = bridge_dir / "share-group"
    if path.exists():
        return path.read_text().strip()
    group = f"bridges-{secrets.token_hex(16)}"
    write_private(path, (group + "\n").encode())
    return group


def publish_crl(pki: FleetPki, pki_dir: Path) -> Path:
    """Copy the node CRL where the broker reads it (``<pki>/mosquitto/crl.pem``)."""
    dest = pki_dir / "mosquitto" / "crl.pem"
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(".crl.pem.tmp")
    shutil.copyfile(pki.crl_path, tmp)
    tmp.replace(dest)
    return dest


def provision_hub(
    out: Path, ca_dir: Path, hostnames: list[str], sim: int = 0, chown: bool = False
) -> dict[str, object]:
    if not hostnames:
        raise ProvisionError("give at least one --hostname the nodes use to reach the hub")
    if not 0 <= sim <= 20:
        raise ProvisionError("--sim: between 0 and 20 simulated agents")
    pki = open_fleet_pki(ca_dir)
    services = pki.services
    local = ["localhost", "127.0.0.1"]
    folders = {
        "mosquitto": MOSQUITTO_UID,
        "superlink": HUB_UID,
        "bridge": HUB_UID,
        "hub": HUB_UID,
    } | {f"sim-{i}": HUB_UID for i in range(1, sim + 1)}
    for name in folders:
        _with_ca(services, out / name)
    _with_ca(pki.nodes, out / "mosquitto", "nodes-ca.crt")
    publish_crl(pki, out)
    _pair(
        out / "mosquitto",
        "server",
        *issue_server(services, "mosquitto", [*hostnames, "mosquitto", *local]),
    )
    _pair(out / "mosquitto", "health", *issue_service(pki, "healthcheck"))
    _pair(
        out / "superlink",
        "server",
        *issue_server(services, "superlink", [*hostnames, "superlink", *local]),
    )
    for name in ("bridge", "hub"):
        _pair(out / name, "client", *issue_service(pki, name))
    share_group(out / "bridge")
    for i in range(1, sim + 1):
        _pair(out / f"sim-{i}", "client", *issue_node(pki, f"sim-{i}"))
    if chown:
        if os.geteuid() != 0:
            raise ProvisionError("--chown needs root")
        for name, uid in folders.items():
            for p in [out / name, *(out / name).iterdir()]:
                os.chown(p, uid, uid)
    return {
        "pki": str(out),
        "ca": str(services.cert_path),
        "node_ca": str(pki.nodes.cert_path),
        "ca_created": pki.created,
        "folders": sorted(folders),
        "bridge_group_file": str(out / "bridge" / "share-group"),
        "next": "set FEDNIDS_BRIDGE_GROUP to the content of bridge/share-group (.env)",
    }
