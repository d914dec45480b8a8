"""In-process fan-out of stored events to live listeners (the API's WebSocket clients).

Each listener has a bounded queue in its asyncio loop; a listener that falls behind by more
than ``maxsize`` events is marked overflowed (the WebSocket then closes it cleanly) instead
of slowing everyone else down or growing without bound.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from contracts.events import EventBase
from contracts.topics import topic_for_event_kind


@dataclass(eq=False)
class Listener:
    topics: frozenset[str]
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[str]
    maxsize: int
    overflowed: bool = False
    dropped: int = 0
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    def _offer(self, item: str) -> None:  # runs in the listener's loop
        if self.overflowed:
            return
        if self.queue.qsize() >= self.maxsize:
            self.overflowed = True
            self.closed.set()
            return
        self.queue.put_nowait(item)


class EventBus:
    def __init__(self, maxsize: int = 1000) -> None:
        self.maxsize = maxsize
        self._listeners: set[Listener] = set()
        self._lock = threading.Lock()
        self.published = 0

    def subscribe(self, topics: Iterable[str]) -> Listener:
        """Call from the listener's running event loop."""
        lst = Listener(frozenset(topics), asyncio.get_running_loop(), asyncio.Queue(), self.maxsize)
        with self._lock:
            self._listeners.add(lst)
        return lst

    def unsubscribe(self, lst: Listener) -> None:
        with self._lock:
            self._listeners.discard(lst)

    def listeners(self) -> int:
        with self._lock:
            return len(self._listeners)

    def publish(self, events: Iterable[EventBase]) -> None:
        """Thread-safe: hand each event to the listeners of its topic."""
        with self._lock:
            listeners = list(self._listeners)
        if not listeners:
            return
        for ev in events:
            topic = topic_for_event_kind(ev.kind).value  # type: ignore[attr-defined]
            item = None
            for lst in listeners:
                if topic in lst.topics and not lst.overflowed:
                    if item is None:  # serialised once, sent as text to every listener
                        item = '{"topic":"' + topic + '","event":' + ev.model_dump_json() + "}"
                    try:
                        lst.loop.call_soon_threadsafe(lst._offer, item)
                    except RuntimeError:  # its loop is closed
                        self.unsubscribe(lst)
            self.published += 1
