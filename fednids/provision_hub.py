"""``fednids provision-hub``: the hub side of the fleet PKI, laid out for docker-compose.yml.

One folder per container, each with ``ca.crt`` and only that container's own key:
``mosquitto/`` (server certificate + a ``health`` client certificate for its healthcheck),
``superlink/`` (server certificate), ``bridge/`` and ``hub/`` (client certificates whose CNs
the Mosquitto ACL names), and with ``--sim N`` the simulated agents ``sim-1`` ... ``sim-N``.
Keys are 0600; ``--chown`` (as root) hands each folder to the uid its container runs as.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from fednids.fleet_ca import (
    FleetCa,
    ProvisionError,
    issue_client,
    issue_server,
    load_or_create_ca,
    pem_key,
    write_private,
)

HUB_UID = 10001  # the `fednids` user of docker/hub.Dockerfile and docker/agent.Dockerfile
MOSQUITTO_UID = 1883  # the `mosquitto` user of the eclipse-mosquitto image


def _pair(d: Path, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{stem}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    write_private(d / f"{stem}.key", pem_key(key))


def _with_ca(ca: FleetCa, d: Path) -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / "ca.crt").write_bytes(ca.cert.public_bytes(serialization.Encoding.PEM))


def provision_hub(
    out: Path, ca_dir: Path, hostnames: list[str], sim: int = 0, chown: bool = False
) -> dict[str, object]:
    if not hostnames:
        raise ProvisionError("give at least one --hostname the nodes use to reach the hub")
    if not 0 <= sim <= 20:
        raise ProvisionError("--sim: between 0 and 20 simulated agents")
    ca, created = load_or_create_ca(ca_dir)
    local = ["localhost", "127.0.0.1"]
    folders = {
        "mosquitto": MOSQUITTO_UID,
        "superlink": HUB_UID,
        "bridge": HUB_UID,
        "hub": HUB_UID,
    } | {f"sim-{i}": HUB_UID for i in range(1, sim + 1)}
    for name in folders:
        _with_ca(ca, out / name)
    _pair(
        out / "mosquitto",
        "server",
        *issue_server(ca, "mosquitto", [*hostnames, "mosquitto", *local]),
    )
    _pair(out / "mosquitto", "health", *issue_client(ca, "healthcheck"))
    _pair(
        out / "superlink",
        "server",
        *issue_server(ca, "superlink", [*hostnames, "superlink", *local]),
    )
    for name in ("bridge", "hub", *[f"sim-{i}" for i in range(1, sim + 1)]):
        _pair(out / name, "client", *issue_client(ca, name))
    if chown:
        if os.geteuid() != 0:
            raise ProvisionError("--chown needs root")
        for name, uid in folders.items():
            for p in [out / name, *(out / name).iterdir()]:
                os.chown(p, uid, uid)
    return {
        "pki": str(out),
        "ca": str(ca_dir / "ca.crt"),
        "ca_created": created,
        "folders": sorted(folders),
    }
