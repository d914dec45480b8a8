"""``memory://``: an in-process broker with Kafka-like logs and consumer groups.

Used by unit tests and the one-process demo. Each topic is an append-only log; each
consumer group has a cursor per topic, and what was delivered but not acked is delivered
again after the subscriber closes (as Kafka does after a rebalance). Subscriptions may
use MQTT wildcards (``+``, ``#``) and ``$share/<group>/`` prefixes.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from contracts.transports.base import DeliveryCallback, Message

DEFAULT_RETENTION = 500_000


def topic_matches(flt: str, topic: str) -> bool:
    """MQTT filter matching (``+`` one level, ``#`` the rest)."""
    if flt.startswith("$share/"):
        flt = flt.split("/", 2)[2]
    if flt == topic:
        return True
    f_parts, t_parts = flt.split("/"), topic.split("/")
    for i, part in enumerate(f_parts):
        if part == "#":
            return True
        if i >= len(t_parts) or (part not in ("+", t_parts[i])):
            return False
    return len(f_parts) == len(t_parts)


@dataclass
class _Log:
    base: int = 0
    messages: list[Message] = field(default_factory=list)

    @property
    def end(self) -> int:
        return self.base + len(self.messages)


@dataclass
class _GroupCursor:
    delivered: int = 0
    acked: set[int] = field(default_factory=set)
    committed: int = 0


class MemoryBroker:
    """One named in-process broker; :meth:`named` returns the same instance per name."""

    _brokers: ClassVar[dict[str, MemoryBroker]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, retention: int = DEFAULT_RETENTION) -> None:
        self.retention = retention
        self._cond = threading.Condition()
        self._logs: dict[str, _Log] = {}
        self._groups: dict[tuple[str, str], _GroupCursor] = {}

    @classmethod
    def named(cls, name: str = "default") -> MemoryBroker:
        with cls._lock:
            if name not in cls._brokers:
                cls._brokers[name] = cls()
            return cls._brokers[name]

    @classmethod
    def reset(cls, name: str | None = None) -> None:
        """Forget one broker (or all): for tests."""
        with cls._lock:
            if name is None:
                cls._brokers.clear()
            else:
                cls._brokers.pop(name, None)

    # -- producing -------------------------------------------------------------
    def append(self, topic: str, value: bytes, key: bytes | None, retain: bool) -> Message:
        with self._cond:
            log = self._logs.setdefault(topic, _Log())
            msg = Message(topic=topic, value=bytes(value), key=key, offset=log.end, retained=retain)
            log.messages.append(msg)
            if len(log.messages) > self.retention:
                drop = len(log.messages) - self.retention
                del log.messages[:drop]
                log.base += drop
            self._cond.notify_all()
            return msg

    def topics(self) -> list[str]:
        with self._cond:
            return list(self._logs)

    def messages(self, topic: str) -> list[Message]:
        """Everything still retained on ``topic`` (for tests and the demo's inspection)."""
        with self._cond:
            return list(self._logs.get(topic, _Log()).messages)

    # -- consuming -------------------------------------------------------------
    def fetch(
        self, filters: Sequence[str], group: str, timeout: float, limit: int
    ) -> list[Message]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                out: list[Message] = []
                for topic, log in self._logs.items():
                    if not any(topic_matches(f, topic) for f in filters):
                        continue
                    cur = self._groups.setdefault((group, topic), _GroupCursor())
                    start = max(cur.delivered, log.base)
                    take = log.messages[start - log.base : start - log.base + (limit - len(out))]
                    out.extend(take)
                    cur.delivered = start + len(take)
                    if len(out) >= limit:
                        break
                if out:
                    return out
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._cond.wait(remaining)

    def ack(self, group: str, messages: Sequence[Message]) -> None:
        with self._cond:
            for msg in messages:
                cur = self._groups.setdefault((group, msg.topic), _GroupCursor())
                cur.acked.add(msg.offset)
                while cur.committed in cur.acked:
                    cur.acked.discard(cur.committed)
                    cur.committed += 1
                log = self._logs.get(msg.topic)
                if log is not None and cur.committed < log.base:
                    cur.committed = log.base

    def rewind_unacked(self, group: str) -> None:
        """Deliver again what the group received but did not ack (a consumer went away)."""
        with self._cond:
            for (g, _topic), cur in self._groups.items():
                if g == group:
                    cur.delivered = cur.committed
                    cur.acked.clear()

    def lag(self, group: str, topic: str) -> int:
        with self._cond:
            log = self._logs.get(topic)
            if log is None:
                return 0
            cur = self._groups.get((group, topic), _GroupCursor())
            return log.end - max(cur.committed, log.base)

    def publisher(self) -> MemoryPublisher:
        return MemoryPublisher(self)

    def subscriber(self, topics: Sequence[str], group: str) -> MemorySubscriber:
        return MemorySubscriber(self, list(topics), group)


class MemoryPublisher:
    """Appends synchronously; delivery callbacks fire on the next :meth:`poll` / :meth:`flush`."""

    def __init__(self, broker: MemoryBroker) -> None:
        self._broker = broker
        self._pending: list[DeliveryCallback] = []
        self._lock = threading.Lock()
        self._closed = False

    def publish(
        self,
        topic: str,
        value: bytes,
        *,
        key: bytes | None = None,
        on_delivery: DeliveryCallback | None = None,
        retain: bool = False,
    ) -> None:
        if self._closed:
            from contracts.errors import TransportError

            raise TransportError("publisher is closed")
        self._broker.append(topic, value, key, retain)
        if on_delivery is not None:
            with self._lock:
                self._pending.append(on_delivery)

    def poll(self, timeout: float = 0.0) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for cb in pending:
            cb(None)

    def flush(self, timeout: float = 10.0) -> int:
        self.poll()
        return 0

    def close(self) -> None:
        self.flush()
        self._closed = True


class MemorySubscriber:
    _ids = itertools.count()

    def __init__(self, broker: MemoryBroker, topics: list[str], group: str) -> None:
        self._broker = broker
        self._topics = topics
        self._group = group

    def poll(self, timeout: float = 1.0, max_messages: int = 500) -> list[Message]:
        return self._broker.fetch(self._topics, self._group, timeout, max_messages)

    def ack(self, messages: Sequence[Message]) -> None:
        self._broker.ack(self._group, messages)

    def close(self) -> None:
        self._broker.rewind_unacked(self._group)
