"""Event time at the hub: one clock per node, each bounded by the hub's own clock.

Hub analytics run in **event time** (the capture time a sensor stamps on its flows), so a
replay of a years-old capture is analysed as it happened. A sensor may be stolen or badly
set, and its times are its own, so (issue 15, item 2):

* **Each node has its own event clock** (:class:`EventClock`, moved by that node's events
  only). Windows that hold a node's events (the classifier's join window, the GNN's graph
  window) age them by *their node's* clock: what one node stamps never ages, releases or
  hides another node's events.
* **The hub's clock bounds every node's.** An event dated past the hub's clock plus
  ``max_skew_s`` (default :data:`MAX_SKEW_S`), or not finite, never moves any clock: it is
  *held*, i.e. placed at its node's current event time (counted in ``held``). It is not
  clamped to the bound: clamping would move the sender's clock to the bound and make every
  later flow of that node look hours old. The contracts (``MAX_EPOCH``, year 2100) cannot do
  this: they do not know the hub's time.
* **A jump inside the bound** (a gap in a capture, a clock stepped by NTP) is taken only
  once ``confirm`` of that node's events agree on it; a new node's clock starts at the
  fleet's, so its first far-off event is such a jump.
* **The fleet's clock** (:attr:`FleetClock.now`, for what is paced fleet-wide: the GNN's
  prediction rounds) is the upper median of the clocks of the nodes heard from in the last
  ``active_s`` of the hub's processing time, and never goes back. A minority of nodes
  cannot stall it by sending old times, nor move it ahead by sending future ones; with one
  or two nodes a node ahead of the other (within the bound) can only make rounds come
  sooner, never age anyone else's events.

The hub's clocks are injectable (``wall`` for the bound, ``monotonic`` for activity) so
tests set them.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

MAX_SKEW_S = 3600.0
"""How far past the hub's clock an event may be dated and still move its node's clock."""
MAX_NODES = 100_000
"""Node clocks kept (the least recently heard from go first)."""


class EventClock:
    """One stream's event time, which one wrong timestamp cannot run away with.

    ``observe(t)`` moves the clock to ``t`` if ``t`` is at most ``max_ahead_s`` past it. A
    later ``t`` is a jump (a gap in a capture, or a bad clock): it is taken only once
    ``confirm`` events agree on it (within ``max_ahead_s`` of each other); until then the
    event is placed at the current time. A time past the hub's own clock plus
    ``max_skew_s`` (traffic from the future) never moves it. ``observe`` returns the time
    to record the event at (never past the clock), or None if it has no usable time yet.
    """

    def __init__(
        self,
        max_ahead_s: float = 3600.0,
        confirm: int = 3,
        max_skew_s: float = MAX_SKEW_S,
        wall: Callable[[], float] = time.time,
        start: float | None = None,
    ) -> None:
        self.max_ahead_s, self.confirm, self.max_skew_s = max_ahead_s, confirm, max_skew_s
        self._wall = wall
        self.now: float | None = start
        self._ahead: list[float] = []
        self.held = 0
        """events placed at the clock's time because theirs was too far ahead"""

    def future(self, t: float) -> bool:
        """True if ``t`` is no usable time: not finite, negative or past the hub's bound."""
        return not math.isfinite(t) or t < 0 or t > self._wall() + self.max_skew_s

    def observe(self, t: float) -> float | None:
        if self.future(t):
            self.held += 1
            return self.now
        if self.now is None or t <= self.now:
            self.now = t if self.now is None else self.now
            return t
        if t - self.now <= self.max_ahead_s:
            self.now = t
            return t
        near = [a for a in self._ahead if abs(a - t) <= self.max_ahead_s]
        if len(near) + 1 >= self.confirm:
            self.now = max([*near, t])
            self._ahead = [a for a in self._ahead if a > self.now + self.max_ahead_s]
            return t
        self._ahead = ([*self._ahead, t])[-64:]
        self.held += 1
        return self.now


class FleetClock:
    """Per-node :class:`EventClock` s bounded by the hub's clock, and the fleet's clock."""

    def __init__(
        self,
        max_ahead_s: float = 3600.0,
        confirm: int = 3,
        max_skew_s: float = MAX_SKEW_S,
        active_s: float = 900.0,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        max_nodes: int = MAX_NODES,
    ) -> None:
        self.max_ahead_s, self.confirm, self.max_skew_s = max_ahead_s, confirm, max_skew_s
        self.active_s, self.max_nodes = active_s, max_nodes
        self._wall, self._mono = wall, monotonic
        self.nodes: OrderedDict[str, tuple[EventClock, float]] = OrderedDict()
        """node -> (its clock, processing time it was last heard from), least recent first"""
        self._fleet: float | None = None
        self._dirty = False
        self._held_gone = 0

    @property
    def held(self) -> int:
        """Events held (too far ahead, or past the hub's bound), over every node."""
        return self._held_gone + sum(c.held for c, _ in self.nodes.values())

    def node(self, node_id: str) -> EventClock:
        got = self.nodes.get(node_id)
        if got is not None:
            return got[0]
        c = EventClock(self.max_ahead_s, self.confirm, self.max_skew_s, self._wall, self.now)
        self.nodes[node_id] = (c, self._mono())
        if len(self.nodes) > self.max_nodes:
            self._held_gone += self.nodes.popitem(last=False)[1][0].held
        return c

    def observe(self, node_id: str, t: float) -> float | None:
        """Record one event of ``node_id`` dated ``t``: the time to place it at (its node's
        clock if ``t`` is held), or None while that node has no usable time."""
        c = self.node(node_id)
        got = c.observe(t)
        self.nodes[node_id] = (c, self._mono())
        self.nodes.move_to_end(node_id)
        self._dirty = True
        return got

    def node_now(self, node_id: str) -> float | None:
        got = self.nodes.get(node_id)
        return got[0].now if got is not None else None

    def age(self, node_id: str, t: float) -> float:
        """How old an event of ``node_id`` placed at ``t`` is, by its node's own clock."""
        now = self.node_now(node_id)
        return 0.0 if now is None else max(now - t, 0.0)

    @property
    def now(self) -> float | None:
        """The fleet's clock: upper median of the active nodes' clocks, never going back."""
        if self._dirty:
            self._dirty = False
            lo = self._mono() - self.active_s
            times: list[float] = []
            for c, heard in reversed(self.nodes.values()):  # most recently heard first
                if heard < lo:
                    break
                if c.now is not None:
                    times.append(c.now)
            if times:
                times.sort()
                med = times[len(times) // 2]
                self._fleet = med if self._fleet is None else max(self._fleet, med)
        return self._fleet
