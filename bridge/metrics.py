"""Prometheus metrics of the bridge."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class BridgeMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.messages_in = Counter("bridge_messages_in", "MQTT messages received", registry=r)
        self.events_out = Counter(
            "bridge_events_out", "events delivered to Kafka", ["topic"], registry=r
        )
        self.dead_lettered = Counter(
            "bridge_dead_lettered", "MQTT messages sent to dead_letter", ["reason"], registry=r
        )
        self.in_flight = Gauge(
            "bridge_in_flight_messages", "MQTT messages waiting for Kafka", registry=r
        )
        self.delivery_latency = Histogram(
            "bridge_delivery_latency_seconds",
            "MQTT receipt to the last Kafka delivery report of a message",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.kafka_errors = Counter(
            "bridge_kafka_errors", "Kafka delivery errors (retried)", registry=r
        )
