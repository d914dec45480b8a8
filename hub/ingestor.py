"""The ingestor: Kafka (every event topic) -> the event store, offsets committed only after
the database committed; each newly stored event is fanned out to live listeners.

A database outage means: retry the same batch with backoff, commit nothing meanwhile.
An undecodable record goes to ``dead_letter`` with the reason, then its offset is committed.
A record the database refuses (a value outside a column's range, a constraint: retrying can
never help) is found by splitting the batch in halves and goes to ``dead_letter`` with the
database's reason; the rest of the batch is stored. One node's bad record never blocks the
others'. Only connection-class errors are retried.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

from contracts.codec import decode, encode
from contracts.deadletter import dead_letter
from contracts.errors import TransportError, ValidationFailed
from contracts.events import EventBase
from contracts.topics import KafkaTopic
from contracts.transports.base import Message, Publisher, Subscriber
from hub.bus import EventBus
from hub.errors import RecordRejected, StoreError
from hub.storage.store import EventStore

log = logging.getLogger(__name__)
INGEST_TOPICS = [t.value for t in KafkaTopic if t is not KafkaTopic.DEAD_LETTER]


class Ingestor:
    def __init__(
        self,
        subscriber: Subscriber,
        store: EventStore,
        dead_letters: Publisher,
        bus: EventBus | None = None,
        batch: int = 2000,
    ) -> None:
        self.sub = subscriber
        self.store = store
        self.dlq = dead_letters
        self.bus = bus
        self.batch = batch
        self.stored = 0
        self.duplicates = 0
        self.dead = 0
        self.rejected = 0
        self.retries = 0

    def _decode(self, msgs: list[Message]) -> tuple[list[EventBase], dict[uuid.UUID, Message]]:
        out: list[EventBase] = []
        sources: dict[uuid.UUID, Message] = {}
        bad = 0
        for m in msgs:
            try:
                ev = decode(m.value)
                out.append(ev)
                sources[ev.event_id] = m
            except ValidationFailed as exc:
                bad += 1
                self.dlq.publish(
                    KafkaTopic.DEAD_LETTER.value,
                    dead_letter(exc.reason, m.topic, m.value, None, "ingestor"),
                    key=m.key,
                )
        if bad:
            if self.dlq.flush(30) != 0:
                raise StoreError("dead_letter not confirmed by Kafka")
            self.dead += bad
        return out, sources

    def _insert(
        self, events: list[EventBase], sources: dict[uuid.UUID, Message]
    ) -> list[EventBase]:
        """Insert; on :class:`RecordRejected` bisect until the refused records are alone, and
        dead-letter those (confirmed by Kafka before the batch is acknowledged)."""
        fresh: list[EventBase] = []
        rejected: list[tuple[EventBase, str]] = []
        todo = [events]
        while todo:
            part = todo.pop()
            try:
                fresh.extend(self.store.insert_events(part))
            except RecordRejected as exc:
                if len(part) == 1:
                    rejected.append((part[0], str(exc)))
                else:
                    mid = len(part) // 2
                    todo.extend((part[mid:], part[:mid]))
        if rejected:
            for ev, reason in rejected:
                src = sources.get(ev.event_id)
                self.dlq.publish(
                    KafkaTopic.DEAD_LETTER.value,
                    dead_letter(
                        reason,
                        src.topic if src else "?",
                        src.value if src else encode(ev),
                        ev.node_id,
                        "ingestor",
                    ),
                    key=ev.node_id.encode(),
                )
                log.warning("ingestor: quarantined %s from %s: %s", ev.event_id, ev.node_id, reason)
            if self.dlq.flush(30) != 0:
                raise StoreError("dead_letter not confirmed by Kafka")
            self.dead += len(rejected)
            self.rejected += len(rejected)
        return fresh

    def step(self, stop: threading.Event, timeout: float = 0.5) -> int:
        msgs = self.sub.poll(timeout, self.batch)
        if not msgs:
            return 0
        events, sources = self._decode(msgs)
        delay = 0.5
        while True:
            try:
                fresh = self._insert(events, sources) if events else []
                break
            except StoreError as exc:
                if stop.is_set():
                    return 0  # not committed: the batch comes again after a restart
                self.retries += 1
                log.warning(
                    "ingestor: database unavailable (%s); retrying in %.1fs",
                    str(exc).splitlines()[0],
                    delay,
                )
                stop.wait(delay)
                delay = min(delay * 2, 10.0)
        self.sub.ack(msgs)
        self.stored += len(fresh)
        self.duplicates += len(events) - len(fresh)
        if self.bus is not None and fresh:
            self.bus.publish(fresh)
        return len(msgs)

    def run(self, stop: threading.Event) -> None:
        log.info("ingestor running")
        last = time.monotonic()
        while not stop.is_set():
            try:
                self.step(stop)
            except (StoreError, TransportError) as exc:  # nothing was committed: it comes again
                log.error("ingestor: %s", exc)
                stop.wait(1.0)
            if time.monotonic() - last > 10:
                last = time.monotonic()
                log.info(
                    "ingestor: stored %d, duplicates %d, dead letters %d",
                    self.stored,
                    self.duplicates,
                    self.dead,
                )
        self.sub.close()
