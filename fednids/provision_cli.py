"""``fednids provision``: a node's bundle (config, certificates, Flower key, cloud-init)."""

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
    p.add_argument("--node-id", required=True, help="the node id (also the certificate's CN)")
    p.add_argument("--out", type=Path, required=True, help="bundle directory to write")
    p.add_argument(
        "--ca-dir",
        type=Path,
        default=Path("fleet-ca"),
        help="fleet CA directory (ca.crt, ca.key); created if missing (default ./fleet-ca)",
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
    p.add_argument("--templates", type=Path, default=None, help="firmware_configs directory")
    p.add_argument("--force", action="store_true", help="overwrite an existing bundle")
    p.set_defaults(handler=_run)
    register_hub(sub)


def _run(args: argparse.Namespace) -> int:
    from fednids.provision import ProvisionError, ProvisionRequest, provision

    given = {
        k: getattr(args, k)
        for k in ("mqtt_url", "superlink", "iface", "package", "templates")
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
    from fednids.fleet_ca import ProvisionError
    from fednids.provision_hub import provision_hub

    try:
        summary = provision_hub(args.out, args.ca_dir, args.hostnames, args.sim, args.chown)
    except ProvisionError as exc:
        log.error("provision-hub: %s", exc)
        return 2
    print(json.dumps(summary, indent=1))
    return 0
