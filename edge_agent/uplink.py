"""Drains the outbox to the broker: batched, QoS 1, rows deleted only after a successful PUBACK.

Flow records are batched (every ``batch_interval_s`` or ``batch_max`` events, within the
contracts' message size limit) into one ``EventBatch`` message on
``fednids/v1/{node}/flows``; anomalies and FL events likewise on their topics; heartbeats
(``NodeStatus``) are published retained on ``.../status``.

Bounded in an outage: at most ``max_inflight`` messages are handed to the publisher and not
yet confirmed, and a message is never handed over twice while the publisher holds it. paho
keeps each unconfirmed message and sends it again itself after every reconnect (same packet
id, DUP flag: the only resend MQTT allows), so the uplink never re-publishes on a timer:
events wait on disk, not in RAM. Rows are sent again only when the broker answered with a
non-success reason code (refused, or 0x10 "no matching subscribers": nobody keeps it) or
the publisher could not take the message; then the cursor rewinds, and until the next
success one message at a time probes the broker, with a backoff that doubles up to
``max_backoff_s`` (the hub is idempotent on ``event_id``; duplicates are harmless, loss is
not).

Heartbeats have a lane of their own: ``NodeStatus`` rows go out in order, one at a time
(retained, so the last one sent is the newest), whatever the data lane is waiting for. A
backlog the broker refuses (no subscriber for the flows while the hub's bridge is away) never
freezes the node's heartbeat, so the operator still sees it alive and which model it runs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from contracts.codec import MAX_MESSAGE_BYTES
from contracts.errors import TransportError
from contracts.topics import MqttKind, mqtt_topic
from contracts.transports.base import Publisher
from edge_agent.outbox import Outbox, Row

log = logging.getLogger(__name__)
_BATCH_OVERHEAD = 128
_STATUS = MqttKind.STATUS.value
_DATA_KINDS = tuple(k.value for k in MqttKind if k is not MqttKind.STATUS)


@dataclass(frozen=True, slots=True)
class UplinkConfig:
    batch_interval_s: float = 0.1
    batch_max: int = 500
    max_inflight: int = 64
    retry_backoff_s: float = 2.0
    """The first wait after a refused message; doubled on each refusal in a row ..."""
    max_backoff_s: float = 30.0
    """... up to this."""


def batch_payload(node_id: str, payloads: list[bytes]) -> bytes:
    """Encoded events -> one ``EventBatch`` message (the same bytes ``encode_batch`` makes)."""
    return (
        b'{"schema_version":1,"kind":"batch","node_id":"'
        + node_id.encode()
        + b'","events":['
        + b",".join(payloads)
        + b"]}"
    )


class Uplink:
    def __init__(
        self, node_id: str, outbox: Outbox, publisher: Publisher, config: UplinkConfig | None = None
    ) -> None:
        self.node_id = node_id
        self.outbox = outbox
        self.publisher = publisher
        self.config = config or UplinkConfig()
        self._lock = threading.Lock()
        self._acked: list[int] = []
        self._inflight: dict[int, tuple[list[int], float]] = {}  # serial -> (row ids, sent at)
        self._serial = 0
        self._cursor = 0
        self._rewind_to: int | None = None
        self._retry_at = 0.0
        self._refusals_in_row = 0
        self._rounds = 0  # rewinds since the last success: the backoff's exponent
        self._status_inflight: int | None = None  # the heartbeat row id the broker holds
        self._status_cursor = 0  # the last heartbeat row the broker confirmed
        self._status_retry_at = 0.0
        self.sent_messages = 0
        self.acked_events = 0
        self.refused = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one step, callable from a test or the thread ----------------------------------
    def pump(self) -> int:
        """Delete acked rows and publish what fits in the in-flight window; returns messages sent."""
        self._collect_acks()
        sent_status = self._pump_status()
        now = time.monotonic()
        with self._lock:
            if self._rewind_to is not None and now >= self._retry_at:
                self._cursor = min(self._cursor, self._rewind_to - 1)
                self._rewind_to = None
                self._rounds += 1
            room = self.config.max_inflight - len(self._inflight)
            if self._refusals_in_row:  # probing: one message until the broker takes one again
                room = min(room, 1 - len(self._inflight))
            blocked = self._rewind_to is not None
        if room <= 0 or blocked:
            self.publisher.poll(0)
            return sent_status
        rows = self.outbox.peek(
            self.config.batch_max * room, after_id=self._cursor, kinds=_DATA_KINDS
        )
        sent = 0
        for kind, group in self._group(rows):
            if sent >= room or not self._send(kind, group):
                break
            self._cursor = max(self._cursor, group[-1].id)
            sent += 1
        self.publisher.poll(0)
        return sent + sent_status

    def _pump_status(self) -> int:
        """The next heartbeat, unless one is with the broker already (its own lane)."""
        with self._lock:
            if self._status_inflight is not None or time.monotonic() < self._status_retry_at:
                return 0
            after = self._status_cursor
        rows = self.outbox.peek(1, after_id=after, kinds=(_STATUS,))
        if not rows:
            return 0
        row = rows[0]
        with self._lock:
            self._status_inflight = row.id

        def done(err: Exception | None) -> None:
            with self._lock:
                self._status_inflight = None
                if err is None:
                    self._acked.append(row.id)
                    self._status_cursor = max(self._status_cursor, row.id)
                    return
                self.refused += 1
                self._status_retry_at = time.monotonic() + self.config.retry_backoff_s
            log.warning("uplink: heartbeat not kept by the broker (%s)", err)

        try:
            self.publisher.publish(
                mqtt_topic(self.node_id, MqttKind.STATUS),
                row.payload,
                on_delivery=done,
                retain=True,
            )
        except TransportError as exc:
            done(exc)
            return 0
        self.sent_messages += 1
        return 1

    def _group(self, rows: list[Row]) -> list[tuple[str, list[Row]]]:
        """Consecutive rows of one kind, cut at ``batch_max`` and the size limit (data rows only:
        heartbeats have their own lane)."""
        out: list[tuple[str, list[Row]]] = []
        cur: list[Row] = []
        size = _BATCH_OVERHEAD
        for r in rows:
            fits = cur and cur[0].kind == r.kind and len(cur) < self.config.batch_max
            if not (fits and size + len(r.payload) + 1 <= MAX_MESSAGE_BYTES):
                if cur:
                    out.append((cur[0].kind, cur))
                cur, size = [], _BATCH_OVERHEAD
            cur.append(r)
            size += len(r.payload) + 1
        if cur:
            out.append((cur[0].kind, cur))
        return out

    def _send(self, kind: str, rows: list[Row]) -> bool:
        with self._lock:
            self._serial += 1
            serial = self._serial
            self._inflight[serial] = ([r.id for r in rows], time.monotonic())
        topic = mqtt_topic(self.node_id, MqttKind(kind))
        payload = batch_payload(self.node_id, [r.payload for r in rows])
        try:
            self.publisher.publish(topic, payload, on_delivery=self._on_delivery(serial))
        except TransportError as exc:  # not taken: the rows stay on disk and go again later
            self._on_delivery(serial)(exc)
            return False
        self.sent_messages += 1
        return True

    def _on_delivery(self, serial: int) -> Callable[[Exception | None], None]:
        def done(err: Exception | None) -> None:
            with self._lock:
                ids, _ = self._inflight.pop(serial, ([], 0.0))
                if err is None:
                    self._acked.extend(ids)
                    self._refusals_in_row = self._rounds = 0
                    return
                self.refused += 1
                self._refusals_in_row += 1
                first_of_round = self._rewind_to is None
                first = min(ids) if ids else self._cursor + 1
                self._rewind_to = first if first_of_round else min(self._rewind_to or first, first)
                wait = min(self.config.max_backoff_s, self.config.retry_backoff_s * 2**self._rounds)
                if first_of_round:
                    self._retry_at = time.monotonic() + wait
            if first_of_round:
                log.warning(
                    "uplink: message not kept by the broker (%s); resending in %.0fs", err, wait
                )

        return done

    def _collect_acks(self) -> None:
        with self._lock:
            acked, self._acked = self._acked, []
        if acked:
            self.outbox.delete(acked)
            self.acked_events += len(acked)

    def inflight(self) -> int:
        with self._lock:
            return len(self._inflight) + (self._status_inflight is not None)

    # -- background thread ---------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="uplink", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.pump()
            except Exception:  # keep draining whatever fails once
                log.exception("uplink: pump failed; retrying")
            self._stop.wait(self.config.batch_interval_s)

    def drain(self, timeout: float) -> bool:
        """Send everything in the outbox and wait for the PUBACKs, up to ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.pump()
            if len(self.outbox) == 0 and self.inflight() == 0:
                return True
            time.sleep(0.05)
        self._collect_acks()
        return len(self.outbox) == 0

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._collect_acks()
