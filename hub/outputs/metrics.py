"""Prometheus metrics of the outputs process, and each output's lag behind its input topics.

The lag is what the output's own consumer group has not committed yet: records in the topics
past its cursor (Kafka: the high watermark minus the committed offset, per partition).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from contracts.errors import TransportError
from contracts.transports.factory import parse_url

log = logging.getLogger(__name__)


class OutputMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.lag = Gauge(
            "fednids_output_lag_records",
            "Records in the input topics past the output's committed cursor",
            ["output"],
            registry=self.registry,
        )
        self.records = Counter(
            "fednids_output_records_total",
            "Records handled per outcome: sent, filtered, suppressed (an active suppression "
            "marked the incident), limited (over the rate limit), "
            "rejected (refused for good by the receiver), undecodable",
            ["output", "outcome"],
            registry=self.registry,
        )
        self.failures = Counter(
            "fednids_output_failures_total",
            "Failed deliveries (each retried after a back-off)",
            ["output"],
            registry=self.registry,
        )
        self.up = Gauge(
            "fednids_output_up",
            "1 when the last delivery succeeded",
            ["output"],
            registry=self.registry,
        )
        self._server: Any = None

    def serve(self, host: str, port: int) -> int:
        """Serve ``/metrics``; returns the port (a free one when ``port`` is 0)."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        self._server = server
        return int(server.server_address[1])

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class LagProbe:
    """Reads a consumer group's lag without joining the group."""

    def __init__(self, url: str, group: str, topics: Sequence[str]) -> None:
        self.parsed = parse_url(url)
        self.group = group
        self.topics = list(topics)
        self._consumer: Any = None
        self.cursor: dict[str, int] = {}
        """The committed offsets at the last :meth:`lag`: ``{"topic:partition": offset}``."""

    def lag(self) -> int:
        if self.parsed.scheme == "memory":
            from contracts.transports.memory import MemoryBroker

            broker = MemoryBroker.named(self.parsed.name)
            total, cursor = 0, {}
            for t in self.topics:
                lag = broker.lag(self.group, t)
                msgs = broker.messages(t)
                end = msgs[-1].offset + 1 if msgs else 0
                cursor[f"{t}:0"] = max(0, end - lag)
                total += lag
            self.cursor = cursor
            return total
        return self._kafka_lag()

    def _kafka_lag(self) -> int:
        import confluent_kafka as ck

        if self._consumer is None:
            conf = {
                "bootstrap.servers": f"{self.parsed.host}:{self.parsed.port}",
                "group.id": self.group,
                "enable.auto.commit": False,
            }
            if self.parsed.scheme == "kafka+ssl":
                conf["security.protocol"] = "SSL"
            self._consumer = ck.Consumer(conf)
        try:
            meta = self._consumer.list_topics(timeout=5)
            parts = [
                ck.TopicPartition(t, p)
                for t in self.topics
                if t in meta.topics
                for p in meta.topics[t].partitions
            ]
            total, cursor = 0, {}
            for tp in self._consumer.committed(parts, timeout=5):
                low, high = self._consumer.get_watermark_offsets(tp, timeout=5, cached=False)
                at = tp.offset if tp.offset >= 0 else low
                cursor[f"{tp.topic}:{tp.partition}"] = at
                total += max(0, high - at)
            self.cursor = cursor
            return total
        except ck.KafkaException as exc:
            raise TransportError(f"kafka lag of {self.group}: {exc}") from exc

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
