"""Records onto a Kafka topic (EVE JSON for a SIEM that reads Kafka); delivered once the
broker confirmed every one (the producer is idempotent, ``acks=all``)."""

from __future__ import annotations

from collections.abc import Sequence

from contracts.errors import TransportError
from contracts.transports import open_publisher
from hub.outputs.config import KafkaOutput
from hub.outputs.records import Record
from hub.outputs.sinks import SinkError


class KafkaSink:
    per_record = False

    def __init__(self, cfg: KafkaOutput, default_url: str) -> None:
        self.cfg = cfg
        self.url = cfg.url or default_url
        self.pub = open_publisher(self.url)

    def send(self, records: Sequence[Record]) -> None:
        failures: list[Exception] = []

        def done(err: Exception | None) -> None:
            if err is not None:
                failures.append(err)

        try:
            for rec in records:
                key = getattr(rec.event, "node_id", "").encode() or None
                self.pub.publish(self.cfg.topic, rec.line().encode(), key=key, on_delivery=done)
            pending = self.pub.flush(self.cfg.timeout_s)
        except TransportError as exc:
            raise SinkError(f"kafka {self.cfg.topic}: {exc}") from exc
        if pending or failures:
            raise SinkError(
                f"kafka {self.cfg.topic}: {pending} unconfirmed, {len(failures)} failed"
            )

    def close(self) -> None:
        self.pub.close()
