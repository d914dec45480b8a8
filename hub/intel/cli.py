"""``fednids hub intel import | publish``: threat-intel feeds to the fleet's indicator bundle."""

from __future__ import annotations

import argparse
import json
import logging
import re
from pathlib import Path

from contracts.cli_args import add_tls_args, tls_options

log = logging.getLogger("fednids.intel")


def register_services(hsub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    intel = hsub.add_parser("intel", help="threat intel: import STIX/MISP/lists, publish bundles")
    isub = intel.add_subparsers(dest="intel_cmd", required=True)
    imp = isub.add_parser("import", help="merge feed files into the indicator bundle file")
    imp.add_argument("files", nargs="+", type=Path, metavar="FILE")
    imp.add_argument("--source", required=True, help="the feed's name (e.g. feodo, misp-circl)")
    imp.add_argument("--format", choices=["stix", "misp", "list"], help="default: from content")
    imp.add_argument("--out", type=Path, required=True, help="the bundle file (JSON)")
    imp.add_argument("--confidence", type=int, default=50, help="0-100 when the feed says none")
    imp.add_argument("--ttl-days", type=float, default=30.0, help="expiry when the feed says none")
    imp.add_argument("--family", default="other", help="attack family of a hit (e.g. botnet)")
    imp.add_argument("--tag", default="", help="short text shown with each hit")
    imp.set_defaults(handler=_import)
    pub = isub.add_parser("publish", help="sign the bundle and publish it retained to the fleet")
    pub.add_argument("bundle", type=Path, metavar="BUNDLE")
    pub.add_argument("--key", type=Path, required=True, help="model-signing.key")
    pub.add_argument("--mqtt", required=True, help="mqtt(s)://host:port")
    add_tls_args(pub, key_flag="--cert-key")
    pub.add_argument("--fleet-id", help="sign for this fleet (nodes provisioned with it)")
    pub.set_defaults(handler=_publish)


def _import(args: argparse.Namespace) -> int:
    from contracts.events import ATTACK_FAMILIES
    from contracts.indicators import SOURCE_PATTERN
    from hub.intel.common import FeedDefaults, IntelError
    from hub.intel.feeds import import_feeds

    if args.family not in ATTACK_FAMILIES or not 0 <= args.confidence <= 100:
        log.error("--family must be one of %s and --confidence 0-100", ", ".join(ATTACK_FAMILIES))
        return 2
    if not re.fullmatch(SOURCE_PATTERN, args.source):
        log.error("--source %r: 1-64 of letters, digits and _ . : - (e.g. feodo)", args.source)
        return 2
    feed = FeedDefaults(
        source=args.source,
        confidence=args.confidence,
        ttl_days=args.ttl_days,
        family=args.family,
        tag=args.tag,
    )
    try:
        status = import_feeds(args.files, feed, args.out, args.format)
    except IntelError as exc:
        log.error("%s", exc)
        return 1
    src = status["sources"][args.source]
    print(json.dumps({k: status[k] for k in ("version", "count", "by_type")} | {"source": src}))
    return 0


def _publish(args: argparse.Namespace) -> int:
    from hub.intel.common import IntelError
    from hub.intel.publish import PublishConfig, publish_bundle

    cfg = PublishConfig(
        signing_key=args.key,
        mqtt_url=args.mqtt,
        mqtt_options=tls_options(args, "hub-intel-publisher"),
        fleet_id=args.fleet_id,
    )
    try:
        m = publish_bundle(args.bundle, cfg)
    except IntelError as exc:
        log.error("%s", exc)
        return 1
    print(json.dumps({"version": m.version, "count": m.count, "parts": len(m.parts)}))
    return 0
