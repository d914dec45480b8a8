"""The ingestor: Kafka (every event topic) -> the event store, offsets committed only after
the database committed; each newly stored event is fanned out to live listeners.

A database outage means: retry the same batch with backoff, commit nothing meanwhile.
An undecodable record goes to ``dead_letter`` with the reason; its batch is committed only
once Kafka confirmed every dead letter of the batch (a flush that times out is waited for
again, the batch is never skipped: the next poll would otherwise commit past it).
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
from collections.abc import Callable
from typing import TypeVar

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
_T = TypeVar("_T")
INGEST_TOPICS = [t.value for t in KafkaTopic if t is not KafkaTopic.DEAD_LETTER]


class _DeadLetters:
    """Dead letters of one batch: published once, confirmed by Kafka before the batch is
    acknowledged. A flush that times out leaves them queued in the producer; the next
    :meth:`confirm` waits again (and re-publishes only those Kafka reported failed)."""

    def __init__(self, pub: Publisher) -> None:
        self.pub = pub
        self._lock = threading.Lock()
        self._waiting = 0
        self._failed: list[tuple[bytes, bytes | None]] = []
        self.count = 0

    def send(self, value: bytes, key: bytes | None) -> None:
        def done(err: Exception | None) -> None:
            with self._lock:
                self._waiting -= 1
                if err is not None:
                    self._failed.append((value, key))

        with self._lock:
            self._waiting += 1
        self.count += 1
        self.pub.publish(KafkaTopic.DEAD_LETTER.value, value, key=key, on_delivery=done)

    def confirm(self, timeout: float) -> bool:
        with self._lock:
            retry, self._failed = self._failed, []
        for value, key in retry:
            self.count -= 1
            self.send(value, key)
        left = self.pub.flush(timeout)
        with self._lock:
            unconfirmed = max(left, self._waiting) + len(self._failed)
        if unconfirmed:
            raise StoreError(f"dead_letter: {unconfirmed} records not confirmed by Kafka")
        return True


class Ingestor:
    dlq_timeout_s = 30.0
    """How long one wait for Kafka to confirm a batch's dead letters lasts (then: retry)."""

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

    def _decode(
        self, msgs: list[Message], letters: _DeadLetters
    ) -> tuple[list[EventBase], dict[uuid.UUID, Message]]:
        out: list[EventBase] = []
        sources: dict[uuid.UUID, Message] = {}
        for m in msgs:
            try:
                ev = decode(m.value)
                out.append(ev)
                sources[ev.event_id] = m
            except ValidationFailed as exc:
                letters.send(dead_letter(exc.reason, m.topic, m.value, None, "ingestor"), m.key)
        return out, sources

    def _store(
        self, events: list[EventBase]
    ) -> tuple[list[EventBase], list[tuple[EventBase, str]]]:
        """Insert; on :class:`RecordRejected` bisect until the refused records are alone.
        Returns (newly stored, refused with the database's reason)."""
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
        return fresh, rejected

    def _quarantine(
        self,
        rejected: list[tuple[EventBase, str]],
        sources: dict[uuid.UUID, Message],
        letters: _DeadLetters,
    ) -> None:
        for ev, reason in rejected:
            src = sources.get(ev.event_id)
            letters.send(
                dead_letter(
                    reason,
                    src.topic if src else "?",
                    src.value if src else encode(ev),
                    ev.node_id,
                    "ingestor",
                ),
                ev.node_id.encode(),
            )
            log.warning("ingestor: quarantined %s from %s: %s", ev.event_id, ev.node_id, reason)

    def _insert(
        self, events: list[EventBase], sources: dict[uuid.UUID, Message]
    ) -> list[EventBase]:
        """Store ``events``, dead-letter the refused ones and wait for Kafka to confirm those
        (:class:`StoreError` if it does not)."""
        letters = _DeadLetters(self.dlq)
        fresh, rejected = self._store(events)
        self._quarantine(rejected, sources, letters)
        letters.confirm(self.dlq_timeout_s)
        self.dead += len(rejected)
        self.rejected += len(rejected)
        return fresh

    def _retry(self, stop: threading.Event, what: str, fn: Callable[[], _T]) -> _T | None:
        """``fn()`` until it succeeds; ``None`` if asked to stop first (nothing is committed)."""
        delay = 0.5
        while True:
            try:
                return fn()
            except (StoreError, TransportError) as exc:
                if stop.is_set():
                    return None
                self.retries += 1
                log.warning(
                    "ingestor: %s failed (%s); retrying in %.1fs",
                    what,
                    str(exc).splitlines()[0],
                    delay,
                )
                stop.wait(delay)
                delay = min(delay * 2, 10.0)

    def step(self, stop: threading.Event, timeout: float = 0.5) -> int:
        """One batch: stored and its dead letters confirmed, then (only then) acknowledged.
        The same batch is retried until that holds or ``stop`` is set; it is never skipped."""
        msgs = self.sub.poll(timeout, self.batch)
        if not msgs:
            return 0
        letters = _DeadLetters(self.dlq)
        events, sources = self._decode(msgs, letters)
        undecodable = letters.count
        stored = self._retry(stop, "database", lambda: self._store(events) if events else ([], []))
        if stored is None:
            return 0  # not committed: the batch comes again after a restart
        fresh, rejected = stored
        self._quarantine(rejected, sources, letters)
        if letters.count:
            confirmed = self._retry(
                stop, "dead_letter", lambda: letters.confirm(self.dlq_timeout_s)
            )
            if confirmed is None:
                return 0  # not committed: the batch (and its dead letters) come again
        self.sub.ack(msgs)
        self.dead += undecodable + len(rejected)
        self.rejected += len(rejected)
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
