"""``fednids provision``: a node's bundle (config, certificates, Flower key, cloud-init);
``fednids provision revoke NODE`` and ``fednids provision crl``: the node CRL the broker loads."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

log = logging.getLogger("fednids.provision")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "provision",
        help="per-node bundle: agent config, client certificate, Flower node key, cloud-init",
    )
    p.add_argument("--node-id", help="the node id (also the certificate's CN); required")
    p.add_argument("--out", type=Path, help="bundle directory to write; required")
    p.add_argument(
        "--ca-dir",
        type=Path,
        default=Path("fleet-ca"),
        help="fleet PKI directory (node CA, service CA, CRL); created if missing (./fleet-ca)",
    )
    p.add_argument("--mqtt-url", default=None, help="mqtts://HOST:PORT of the hub's Mosquitto")
    p.add_argument("--superlink", default=None, help="HOST:PORT of the hub's Flower SuperLink")
    p.add_argument("--iface", default=None, help="the port the node monitors (default eth0)")
    p.add_argument("--package", default=None, help="pip requirement of the agent on the node")
    p.add_argument(
        "--model-key",
        dest="model_keys",
        type=Path,
        action="append",
        default=[],
        help="trusted model-signing public key (from `fednids hub keygen`); repeatable",
    )
    p.add_argument(
        "--templates",
        type=Path,
        default=None,
        help="own templates laid out like provisioning/templates (default: shipped)",
    )
    p.add_argument(
        "--fleet-id",
        default=None,
        help="the fleet the node belongs to: it refuses models signed for another fleet "
        "(the hub's registry must sign with the same fleet id)",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing bundle")
    p.set_defaults(handler=_run)
    _register_crl(p.add_subparsers(dest="provision_command", metavar="{revoke,crl}"))
    register_hub(sub)


def _register_crl(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    r = sub.add_parser("revoke", help="revoke every certificate issued to a node (node CRL)")
    r.add_argument("node_id", metavar="NODE", help="the node id to revoke")
    c = sub.add_parser("crl", help="re-sign the node CRL (before its next update passes)")
    for q in (r, c):
        q.add_argument("--ca-dir", type=Path, default=Path("fleet-ca"), help="fleet PKI dir")
        q.add_argument(
            "--pki-dir",
            type=Path,
            help="the hub's PKI (from provision-hub): also update <pki>/mosquitto/crl.pem",
        )
        q.set_defaults(handler=_run_crl)


def _run_crl(args: argparse.Namespace) -> int:
    from provisioning.ca import ProvisionError
    from provisioning.hub import publish_crl
    from provisioning.pki import open_fleet_pki, revoke_node, revoked, write_crl

    try:
        pki = open_fleet_pki(args.ca_dir)
        if args.provision_command == "revoke":
            serials = revoke_node(pki, args.node_id)
        else:
            serials = []
            write_crl(pki, revoked(pki))
        copied = publish_crl(pki, args.pki_dir) if args.pki_dir else None
    except ProvisionError as exc:
        log.error("provision %s: %s", args.provision_command, exc)
        return 2
    summary = {
        "crl": str(pki.crl_path),
        "revoked_now": [format(s, "x") for s in serials],
        "revoked_total": len(revoked(pki)),
        "broker_crl": str(copied) if copied else None,
        "next": "reload Mosquitto (SIGHUP: new connections checked against the CRL); "
        "restart it to also cut sessions the revoked node already holds",
    }
    print(json.dumps(summary, indent=1))
    return 0


def _run(args: argparse.Namespace) -> int:
    from provisioning.node import ProvisionError, ProvisionRequest, provision

    if not args.node_id or not args.out:
        log.error("provision: --node-id and --out are required (or: provision revoke NODE)")
        return 2
    given = {
        k: getattr(args, k)
        for k in ("mqtt_url", "superlink", "iface", "package", "templates", "fleet_id")
        if getattr(args, k) is not None
    }
    req = ProvisionRequest(
        node_id=args.node_id,
        out=args.out,
        ca_dir=args.ca_dir,
        model_keys=tuple(args.model_keys),
        force=args.force,
        **given,
    )
    try:
        summary = provision(req)
    except ProvisionError as exc:
        log.error("provision: %s", exc)
        return 2
    print(json.dumps(summary, indent=1))
    return 0


def register_hub(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "provision-hub", help="hub certificates for docker-compose.yml (Mosquitto, SuperLink...)"
    )
    p.add_argument("--out", type=Path, required=True, help="PKI directory (FEDNIDS_PKI_DIR)")
    p.add_argument("--ca-dir", type=Path, default=Path("fleet-ca"), help="fleet CA directory")
    p.add_argument(
        "--hostname",
        dest="hostnames",
        action="append",
        default=[],
        help="name or address the nodes use for the hub; repeatable",
    )
    p.add_argument("--sim", type=int, default=0, help="client certificates for N simulated agents")
    p.add_argument(
        "--chown", action="store_true", help="(root) give each folder to its container uid"
    )
    p.set_defaults(handler=_run_hub)


def _run_hub(args: argparse.Namespace) -> int:
    from provisioning.ca import ProvisionError
    from provisioning.hub import provision_hub

    try:
        summary = provision_hub(args.out, args.ca_dir, args.hostnames, args.sim, args.chown)
    except ProvisionError as exc:
        log.error("provision-hub: %s", exc)
        return 2
    print(json.dumps(summary, indent=1))
    return 0
