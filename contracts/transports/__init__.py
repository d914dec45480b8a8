"""Publish/subscribe by URL: ``memory://``, ``kafka://host:port``, ``mqtt(s)://host:port``.

Services use only :func:`open_publisher` / :func:`open_subscriber` and the
:class:`Publisher` / :class:`Subscriber` protocols; no service imports confluent-kafka or
paho-mqtt itself. Each backend is imported lazily, so a Raspberry Pi without
confluent-kafka can still use ``mqtt://``.
"""

from contracts.transports.base import (
    DeliveryCallback,
    Message,
    Publisher,
    Subscriber,
    TransportOptions,
)
from contracts.transports.factory import open_publisher, open_subscriber, parse_url

__all__ = [
    "DeliveryCallback",
    "Message",
    "Publisher",
    "Subscriber",
    "TransportOptions",
    "open_publisher",
    "open_subscriber",
    "parse_url",
]
