"""In the multi-process deployment the API reads Kafka itself (group ``api-ws``) to feed its
WebSocket listeners; offsets do not matter here (live view only), so it starts at the end."""

from __future__ import annotations

import logging
import threading

from contracts.codec import decode
from contracts.errors import ContractError
from contracts.transports import TransportOptions, open_subscriber
from hub.bus import EventBus
from hub.ingestor import INGEST_TOPICS

log = logging.getLogger(__name__)


def feed_bus_from_kafka(kafka_url: str, bus: EventBus, stop: threading.Event) -> None:
    sub = open_subscriber(
        kafka_url,
        INGEST_TOPICS,
        group="api-ws",
        options=TransportOptions(extra={"auto.offset.reset": "latest"}),
    )
    while not stop.is_set():
        try:
            msgs = sub.poll(0.5)
        except ContractError as exc:
            log.warning("api-ws: %s", exc)
            continue
        events = []
        for m in msgs:
            try:
                events.append(decode(m.value))
            except ContractError:
                continue  # the ingestor dead-letters it
        if events:
            bus.publish(events)
        sub.ack(msgs)
    sub.close()
