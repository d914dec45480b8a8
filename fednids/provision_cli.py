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
