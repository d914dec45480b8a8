"""``fednids hub alerting ...``: the analytics services as processes."""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger("fednids.hub.services")


def register_services(hsub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = hsub.add_parser(
        "alerting",
        help="anomalies / classifications / predictions -> alerts (deduplicated incidents)",
    )
    p.add_argument("--kafka", dest="kafka_url", required=True)
    p.add_argument(
        "--update-every", type=float, default=30.0, help="seconds between updates of one incident"
    )
    p.add_argument(
        "--quiet", type=float, default=600.0, help="seconds of silence that close an incident"
    )
    p.set_defaults(handler=_alerting)


def _alerting(args: argparse.Namespace) -> int:
    from contracts.runtime import stop_event_on_signals
    from contracts.transports import open_publisher, open_subscriber
    from hub.services.alerting import AlertingService
    from hub.services.runtime import ServiceRuntime

    stop = stop_event_on_signals()
    svc = AlertingService(update_every_s=args.update_every, quiet_s=args.quiet)
    ServiceRuntime(
        svc,
        open_subscriber(args.kafka_url, list(svc.inputs), group=svc.name),
        open_publisher(args.kafka_url),
    ).run(stop)
    return 0
