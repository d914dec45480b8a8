"""A service runtime: one consumer-group loop over ``contracts.transports``.

Poll a batch, decode it (undecodable or unexpected records go to ``dead_letter`` with the
reason), hand the events to the service, publish its outputs, wait until Kafka confirmed
them, and only then commit the inputs. A crash before the commit replays the batch: outputs
may repeat (they carry new event ids, consumers are idempotent per incident or flow), inputs
are never skipped. SIGTERM ends the loop after the current batch.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Protocol

from contracts.codec import decode, encode
from contracts.deadletter import dead_letter
from contracts.errors import ContractError, ValidationFailed
from contracts.events import EventBase
from contracts.topics import KafkaTopic, topic_for_event_kind
from contracts.transports.base import Message, Publisher, Subscriber
from hub.errors import HubError

log = logging.getLogger(__name__)


class Service(Protocol):
    name: str
    inputs: Sequence[str]
    """Kafka topics the service reads."""
    accepts: frozenset[str]
    """Event kinds it handles; others on its topics are dead-lettered."""

    def handle(self, events: list[EventBase]) -> list[EventBase]: ...


class ServiceRuntime:
    def __init__(
        self, service: Service, subscriber: Subscriber, publisher: Publisher, batch: int = 1000
    ) -> None:
        self.service = service
        self.sub = subscriber
        self.pub = publisher
        self.batch = batch
        self.handled = 0
        self.produced = 0
        self.dead = 0

    def _decode(self, msgs: list[Message]) -> list[EventBase]:
        out: list[EventBase] = []
        for m in msgs:
            try:
                ev = decode(m.value)
                if ev.kind not in self.service.accepts:  # type: ignore[attr-defined]
                    raise ValidationFailed(f"{self.service.name} does not take {ev.kind!r} events")  # type: ignore[attr-defined]
                out.append(ev)
            except ValidationFailed as exc:
                self.dead += 1
                self.pub.publish(
                    KafkaTopic.DEAD_LETTER.value,
                    dead_letter(exc.reason, m.topic, m.value, None, self.service.name),
                    key=m.key,
                )
        return out

    def step(self, timeout: float = 0.5) -> int:
        msgs = self.sub.poll(timeout, self.batch)
        if not msgs:
            return 0
        events = self._decode(msgs)
        outputs = self.service.handle(events) if events else []
        for ev in outputs:
            kind: str = ev.kind  # type: ignore[attr-defined]
            self.pub.publish(topic_for_event_kind(kind).value, encode(ev), key=ev.node_id.encode())
        if self.pub.flush(60) != 0:
            raise HubError(
                f"{self.service.name}: outputs not confirmed; the batch will be read again"
            )
        self.sub.ack(msgs)
        self.handled += len(events)
        self.produced += len(outputs)
        return len(msgs)

    def run(self, stop: threading.Event) -> None:
        log.info("%s running on %s", self.service.name, ", ".join(self.service.inputs))
        while not stop.is_set():
            try:
                self.step()
            except (HubError, ContractError) as exc:
                log.error("%s: %s", self.service.name, exc)
                stop.wait(1.0)
        self.sub.close()
        self.pub.close()
