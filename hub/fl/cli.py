"""``fednids hub keygen | publish-model | fl-run``: model signing and the federation."""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from contracts.cli_args import add_tls_args, tls_options

log = logging.getLogger("fednids.fl")


def register_services(hsub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    kg = hsub.add_parser("keygen", help="create the ed25519 model-signing key pair")
    kg.add_argument("--out", type=Path, required=True, help="directory (keep the .key secret)")
    kg.set_defaults(handler=_keygen)

    pm = hsub.add_parser("publish-model", help="sign a model dir and announce it to the fleet")
    pm.add_argument("--model-dir", type=Path, required=True)
    pm.add_argument("--key", type=Path, required=True, help="model-signing.key")
    pm.add_argument("--registry", type=Path, required=True, help="registry state directory")
    pm.add_argument("--mqtt", help="mqtt(s)://host:port (retained announcement)")
    pm.add_argument("--kafka", help="kafka://host:port (recorded by the ingestor)")
    add_tls_args(pm, key_flag="--cert-key")
    pm.add_argument("--fleet-id", help="sign for this fleet (nodes provisioned with it)")
    pm.set_defaults(handler=_publish_model)

    fr = hsub.add_parser(
        "fl-run", help="submit the federated run to a SuperLink (`flwr run` of the fednids app)"
    )
    fr.add_argument(
        "--superlink", default="fednids", help="connection name in FLWR_HOME/config.toml"
    )
    fr.add_argument(
        "--run-config", default="", help='overrides, e.g. "num-rounds=5 target-epsilon=3.0"'
    )
    fr.add_argument("--secagg", action="store_true", help="SecAgg+ (needs >= 3 nodes)")
    fr.set_defaults(handler=_fl_run)


def _keygen(args: argparse.Namespace) -> int:
    from contracts.signing import SignatureError, generate_keypair

    try:
        priv, pub = generate_keypair(args.out)
    except SignatureError as exc:
        log.error("%s", exc)
        return 1
    print(json.dumps({"private_key": str(priv), "public_key": str(pub)}))
    return 0


def _publish_model(args: argparse.Namespace) -> int:
    from contracts.signing import SignatureError
    from hub.registry import ModelRegistry, RegistryConfig, RegistryError

    try:
        registry = ModelRegistry(
            RegistryConfig(
                state_dir=args.registry,
                signing_key=args.key,
                mqtt_url=args.mqtt,
                mqtt_options=tls_options(args, "hub-model-registry"),
                events_url=args.kafka,
                fleet_id=args.fleet_id,
            )
        )
        ann = registry.publish(args.model_dir)
    except (RegistryError, SignatureError) as exc:
        log.error("%s", exc)
        return 1
    print(json.dumps({"model": ann.model_name, "version": ann.version, "sha256": ann.sha256}))
    return 0


def app_dir(secagg: bool = False) -> Path:
    """The Flower app's directory in the installed ``federated`` package, found without
    importing it (the hub sits below ``federated`` in the layers: ``flwr run`` loads it)."""
    spec = importlib.util.find_spec("federated")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("the federated package is not installed")
    return Path(spec.origin).parent / ("app_secagg" if secagg else "app")


def _fl_run(args: argparse.Namespace) -> int:
    env = dict(os.environ, FLWR_TELEMETRY_ENABLED="0")
    try:
        app = app_dir(args.secagg)
    except FileNotFoundError as exc:
        log.error("%s", exc)
        return 1
    cmd = [str(Path(sys.executable).with_name("flwr")), "run", str(app), args.superlink]
    if args.run_config:
        cmd += ["--run-config", args.run_config]
    cmd.append("--stream")
    log.info("fl: %s", " ".join(cmd))
    return subprocess.run(cmd, env=env, check=False).returncode
