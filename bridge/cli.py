"""``fednids bridge``: MQTT -> Kafka."""

from __future__ import annotations

import argparse
import logging

from contracts.cli_args import add_tls_args, settings_from_args

log = logging.getLogger("fednids.bridge")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "bridge", help="MQTT -> Kafka bridge (at-least-once, dead_letter for bad payloads)"
    )
    p.add_argument("--mqtt", dest="mqtt_url")
    p.add_argument("--kafka", dest="kafka_url")
    p.add_argument(
        "--group", help="shared-subscription group (bridges in one group split the load)"
    )
    p.add_argument("--client-id")
    add_tls_args(p)
    p.add_argument("--metrics-port", type=int)
    p.add_argument("--max-inflight", type=int)
    p.add_argument(
        "--session-expiry", dest="session_expiry_s", type=int, help="seconds (default 7 days)"
    )
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from bridge.metrics import BridgeMetrics
    from bridge.service import Bridge
    from bridge.settings import BridgeSettings
    from contracts.errors import TransportError
    from contracts.runtime import stop_event_on_signals
    from contracts.topics import KafkaTopic, mqtt_subscription
    from contracts.transports import TransportOptions, open_publisher, open_subscriber, parse_url

    s = settings_from_args(BridgeSettings, args, log, "bridge")
    if s is None:
        return 2
    stop = stop_event_on_signals()
    metrics = BridgeMetrics()
    if s.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(s.metrics_port, addr="127.0.0.1", registry=metrics.registry)
    try:
        if s.kafka_url.startswith("kafka"):
            from contracts.transports.kafka import ensure_topics

            ensure_topics(parse_url(s.kafka_url), [t.value for t in KafkaTopic])
        pub = open_publisher(s.kafka_url, TransportOptions(client_id=s.client_id))
        opts = TransportOptions(
            client_id=s.client_id,
            clean_start=False,
            ca_file=s.ca_file,
            cert_file=s.cert_file,
            key_file=s.key_file,
            max_inflight=s.max_inflight,
            session_expiry_s=s.session_expiry_s,
        )
        sub = open_subscriber(s.mqtt_url, [mqtt_subscription()], group=s.group, options=opts)
        wait = getattr(sub, "wait_subscribed", None)
        if wait is not None:
            wait(30)
    except TransportError as exc:
        log.error("%s", exc)
        return 1
    log.info("bridge %s ready: %s -> %s (group %s)", s.client_id, s.mqtt_url, s.kafka_url, s.group)
    Bridge(sub, pub, s.max_inflight, metrics).run(stop)
    return 0
