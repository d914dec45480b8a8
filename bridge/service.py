"""The bridge: MQTT (agents) -> Kafka (hub), acknowledging MQTT only after Kafka confirmed.

Each MQTT message (one event or an agent's batch) is validated against the contracts; the
topic's node id must be the events' node id (a node cannot speak for another) and the
topic's kind must match the events' kind. Every event becomes one Kafka record keyed by
node id. The MQTT PUBACK is sent when the last of its events is confirmed by Kafka, in the
order the messages arrived (MQTT 5 asks for PUBACKs in order). A refused payload goes to
``dead_letter`` with the reason and is acknowledged once that record is confirmed. With
``max_inflight`` messages waiting, the bridge stops reading MQTT: backpressure, not loss.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from bridge.metrics import BridgeMetrics
from contracts.codec import decode_batch, encode
from contracts.deadletter import dead_letter
from contracts.errors import ValidationFailed
from contracts.events import (
    AnomalyEvent,
    AssetRecord,
    EventBase,
    FLEvent,
    FlowRecord,
    NodeStatus,
)
from contracts.topics import (
    MQTT_MODEL_TOPIC,
    KafkaTopic,
    MqttKind,
    kafka_topic_for,
    parse_mqtt_topic,
)
from contracts.transports.base import Message, Publisher, Subscriber

log = logging.getLogger(__name__)

KIND_TYPES: dict[MqttKind, type[EventBase]] = {
    MqttKind.FLOWS: FlowRecord,
    MqttKind.ANOMALIES: AnomalyEvent,
    MqttKind.STATUS: NodeStatus,
    MqttKind.FL: FLEvent,
    MqttKind.ASSETS: AssetRecord,
}


@dataclass(eq=False)
class _Pending:
    message: Message
    received: float
    outstanding: int = 0
    failed: list[tuple[str, bytes, bytes]] = field(default_factory=list)


class Bridge:
    def __init__(
        self,
        subscriber: Subscriber,
        publisher: Publisher,
        max_inflight: int = 2000,
        metrics: BridgeMetrics | None = None,
    ) -> None:
        self.sub = subscriber
        self.pub = publisher
        self.max_inflight = max_inflight
        self.metrics = metrics or BridgeMetrics()
        self._pending: deque[_Pending] = deque()
        self._lock = threading.Lock()
        self.acked = 0
        self.dead = 0

    def validate(self, msg: Message) -> tuple[str, list[tuple[str, EventBase]]]:
        """``(node_id, [(kafka topic, event)])`` or :class:`ValidationFailed` with the reason."""
        try:
            node, kind = parse_mqtt_topic(msg.topic)
        except ValueError as exc:
            raise ValidationFailed(f"wrong topic: {exc}") from exc
        events = decode_batch(msg.value)
        want = KIND_TYPES[kind]
        topic = kafka_topic_for(kind).value
        for ev in events:
            if ev.node_id != node:
                raise ValidationFailed(
                    f"node {node!r} may not publish events of node {ev.node_id!r}"
                )
            if type(ev) is not want:
                raise ValidationFailed(f"topic kind {kind.value!r} carries {ev.kind!r} events")  # type: ignore[attr-defined]
        return node, [(topic, ev) for ev in events]

    def _produce(self, p: _Pending, topic: str, key: bytes, value: bytes) -> None:
        def done(
            err: Exception | None,
            p: _Pending = p,
            topic: str = topic,
            key: bytes = key,
            value: bytes = value,
        ) -> None:
            with self._lock:
                if err is not None:
                    self.metrics.kafka_errors.inc()
                    p.failed.append((topic, key, value))
                else:
                    p.outstanding -= 1
                    if topic != KafkaTopic.DEAD_LETTER:
                        self.metrics.events_out.labels(topic).inc()

        with self._lock:
            p.outstanding += 1
        self.pub.publish(topic, value, key=key, on_delivery=done)

    def handle(self, msg: Message) -> None:
        self.metrics.messages_in.inc()
        p = _Pending(msg, time.monotonic())
        self._pending.append(p)
        if msg.topic == MQTT_MODEL_TOPIC:  # the hub's own model announcements: not agent data
            return
        try:
            node, routed = self.validate(msg)
        except ValidationFailed as exc:
            node_guess = msg.topic.split("/")[2] if msg.topic.count("/") >= 3 else None
            self.metrics.dead_lettered.labels(exc.reason.split(":")[0][:40]).inc()
            self.dead += 1
            self._produce(
                p,
                KafkaTopic.DEAD_LETTER.value,
                (node_guess or "unknown").encode(),
                dead_letter(exc.reason, msg.topic, msg.value, node_guess, service="bridge"),
            )
            return
        key = node.encode()
        for topic, ev in routed:
            self._produce(p, topic, key, encode(ev))

    def _ack_ready(self) -> None:
        done: list[Message] = []
        retry: list[tuple[_Pending, tuple[str, bytes, bytes]]] = []
        now = time.monotonic()
        with self._lock:
            for p in self._pending:
                while p.failed:
                    retry.append((p, p.failed.pop()))
            while self._pending and self._pending[0].outstanding == 0:
                p = self._pending.popleft()
                done.append(p.message)
                self.metrics.delivery_latency.observe(now - p.received)
            self.metrics.in_flight.set(len(self._pending))
        for p, (topic, key, value) in retry:  # Kafka refused: produce again (never drop)
            with self._lock:
                p.outstanding -= 1
            self._produce(p, topic, key, value)
        if done:
            self.sub.ack(done)
            self.acked += len(done)

    def step(self, timeout: float = 0.1) -> int:
        """Read what MQTT has (unless too much is in flight), serve Kafka, ack what is done."""
        n = 0
        if len(self._pending) < self.max_inflight:
            msgs = self.sub.poll(
                timeout, max_messages=min(1000, self.max_inflight - len(self._pending))
            )
            for m in msgs:
                self.handle(m)
            n = len(msgs)
        else:
            time.sleep(min(timeout, 0.05))
        self.pub.poll(0)
        self._ack_ready()
        return n

    def in_flight(self) -> int:
        return len(self._pending)

    def run(self, stop: threading.Event) -> None:
        log.info("bridge running")
        while not stop.is_set():
            self.step()
        self.shutdown()

    def shutdown(self, timeout: float = 15.0) -> None:
        """Stop reading, wait for Kafka, ack what was delivered; the rest is redelivered by MQTT."""
        deadline = time.monotonic() + timeout
        while self._pending and time.monotonic() < deadline:
            self.pub.flush(0.5)
            self._ack_ready()
        left = len(self._pending)
        if left:
            log.warning(
                "bridge: %d messages not confirmed by Kafka at shutdown; MQTT will redeliver them",
                left,
            )
        self.pub.close()
        self.sub.close()
