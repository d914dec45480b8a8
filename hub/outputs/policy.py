"""Which records an output takes (its filter) and how many per minute (its token bucket)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from contracts.events import SEVERITIES, AlertEvent, AnomalyEvent, EventBase
from hub.outputs.config import Filter, RateLimit

SEEN_KEYS = 100_000


def accepts(flt: Filter, ev: EventBase) -> bool:
    """True when ``ev`` passes the filter: severity at least ``min_severity``, family and
    node in the lists when they are given. Only alerts and anomalies pass at all."""
    if not isinstance(ev, AlertEvent | AnomalyEvent):
        return False
    if SEVERITIES.index(ev.severity) < SEVERITIES.index(flt.min_severity):
        return False
    if flt.families and (ev.family or "other") not in flt.families:
        return False
    if flt.nodes:
        nodes = ev.nodes if isinstance(ev, AlertEvent) else [ev.node_id]
        if not set(nodes) & set(flt.nodes):
            return False
    return True


class TokenBucket:
    """``burst`` tokens, refilled continuously at ``per_minute / 60`` a second."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = (limit.per_minute or 0.0) / 60.0
        self.capacity = float(limit.burst)
        self.unlimited = limit.per_minute is None
        self.clock = clock
        self.tokens = self.capacity
        self.stamp = clock()

    def take(self) -> bool:
        """One token if there is one (always, when unlimited)."""
        if self.unlimited:
            return True
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class FirstSeen:
    """Remembers incident keys (the last :data:`SEEN_KEYS`): is this the first record?"""

    def __init__(self, size: int = SEEN_KEYS) -> None:
        self.size = size
        self._keys: OrderedDict[str, None] = OrderedDict()

    def first(self, ev: EventBase) -> bool:
        if not isinstance(ev, AlertEvent):
            return True
        key = ev.incident_key
        if key in self._keys:
            self._keys.move_to_end(key)
            return False
        self._keys[key] = None
        if len(self._keys) > self.size:
            self._keys.popitem(last=False)
        return True

    def forget(self, ev: EventBase) -> None:
        """Not sent after all (over the rate limit): its next update counts as first."""
        if isinstance(ev, AlertEvent):
            self._keys.pop(ev.incident_key, None)
