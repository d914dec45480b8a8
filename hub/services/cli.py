"""``fednids hub alerting ...``: the analytics services as processes."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

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
    f = hsub.add_parser(
        "anomaly-iforest",
        help="network_data -> anomalies with the Isolation Forest (all sensors' flows)",
    )
    f.add_argument("--kafka", dest="kafka_url", required=True)
    f.add_argument(
        "--model", type=Path, help="model dir (default: the shipped models/artifacts/iforest)"
    )
    f.set_defaults(handler=_iforest)


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


def _iforest(args: argparse.Namespace) -> int:
    from contracts.runtime import stop_event_on_signals
    from contracts.transports import open_publisher, open_subscriber
    from hub.services.iforest_service import DEFAULT_MODEL, IForestService
    from hub.services.runtime import ServiceRuntime
    from models.errors import ModelError
    from models.iforest import IForestModel

    try:
        model = IForestModel.load(args.model or DEFAULT_MODEL)
    except ModelError as exc:
        log.error("%s", exc)
        return 1
    stop = stop_event_on_signals()
    svc = IForestService(model)
    ServiceRuntime(
        svc,
        open_subscriber(args.kafka_url, list(svc.inputs), group=svc.name),
        open_publisher(args.kafka_url),
    ).run(stop)
    return 0
