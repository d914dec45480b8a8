"""Open a transport from its URL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from contracts.errors import TransportError
from contracts.transports.base import Publisher, Subscriber, TransportOptions

SCHEMES = ("memory", "kafka", "kafka+ssl", "mqtt", "mqtts")


@dataclass(frozen=True, slots=True)
class ParsedUrl:
    scheme: str
    host: str
    port: int
    name: str
    """For ``memory://NAME``: which in-process broker (default ``default``)."""


def parse_url(url: str) -> ParsedUrl:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise TransportError(
            f"unsupported transport URL {url!r}: scheme must be one of {', '.join(SCHEMES)}"
        )
    if scheme == "memory":
        return ParsedUrl(scheme, "", 0, parts.netloc or parts.path.strip("/") or "default")
    default_port = {"kafka": 9092, "kafka+ssl": 9093, "mqtt": 1883, "mqtts": 8883}[scheme]
    if not parts.hostname:
        raise TransportError(f"transport URL {url!r} has no host")
    try:
        port = parts.port or default_port
    except ValueError as exc:
        raise TransportError(f"transport URL {url!r} has an invalid port") from exc
    return ParsedUrl(scheme, parts.hostname, port, "")


def open_publisher(url: str, options: TransportOptions | None = None) -> Publisher:
    p = parse_url(url)
    opts = options or TransportOptions()
    if p.scheme == "memory":
        from contracts.transports.memory import MemoryBroker

        return MemoryBroker.named(p.name).publisher()
    if p.scheme.startswith("kafka"):
        from contracts.transports.kafka import KafkaPublisher

        return KafkaPublisher(p, opts)
    from contracts.transports.mqtt import MqttPublisher

    return MqttPublisher(p, opts)


def open_subscriber(
    url: str,
    topics: Sequence[str],
    group: str,
    options: TransportOptions | None = None,
) -> Subscriber:
    """Subscribe ``group`` to ``topics``. Members of one group share the messages
    (Kafka consumer group; MQTT ``$share/group/...``; memory: one cursor per group)."""
    p = parse_url(url)
    opts = options or TransportOptions()
    if p.scheme == "memory":
        from contracts.transports.memory import MemoryBroker

        return MemoryBroker.named(p.name).subscriber(topics, group)
    if p.scheme.startswith("kafka"):
        from contracts.transports.kafka import KafkaSubscriber

        return KafkaSubscriber(p, topics, group, opts)
    from contracts.transports.mqtt import MqttSubscriber

    return MqttSubscriber(p, topics, group, opts)
