"""A bounded ring of recent raw frames: one ``deque`` of records with a running byte total.

A record is one ``bytes`` object: the frame's timestamp and link type packed in
:data:`RECORD` (12 bytes) and the frame after them. Per frame the ring holds that object and
a deque slot, nothing else (a ``(ts, linktype, frame)`` tuple kept the capture's own bytes
without a copy but cost a tuple and a float beside them: 200 bytes per frame of the replay
capture instead of about 136). ``add`` is O(1) amortised: it appends, then evicts the oldest
frames while the total is over ``capacity``. Each frame is charged its length plus
:data:`OVERHEAD` (the record header, the bytes object's header and rounding, the deque
slot), so ``capacity`` bounds the memory the ring really holds, not just the payload.

``select`` may run in another thread than ``add``: it takes a snapshot (``list(deque)`` is
one C call under the GIL, never torn) and scans it for a time window and a set of hosts,
re-parsing only the frames in which a host's address bytes occur at all.
"""

from __future__ import annotations

import math
import struct
from collections import deque
from dataclasses import dataclass

from edge_agent.capture.packet import LT_ETHERNET, Packet, ParseStats, parse_frame

RECORD = struct.Struct("<dI")
"""A record's header: the capture timestamp (float64) and the link type."""
OVERHEAD = 64
"""Bytes charged per frame beyond its length: the record header (12), the bytes object's
header (33), pymalloc's rounding to 16 (8 on average) and a deque slot (8), rounded up."""
_pack = RECORD.pack
_unpack = RECORD.unpack_from
_AT = RECORD.size
MIN_CAPACITY = 64 * 1024


@dataclass(frozen=True, slots=True)
class Frame:
    ts: float
    linktype: int
    wirelen: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Selection:
    frames: list[Frame]
    truncated: bool
    """More frames matched than ``max_bytes`` allowed: ``frames`` are the first ones."""
    oldest_ts: float | None
    newest_ts: float | None
    lost_until: float | None
    """The newest timestamp among evicted frames (None: nothing evicted yet)."""


class FrameRing:
    def __init__(self, capacity: int) -> None:
        if capacity < MIN_CAPACITY:
            raise ValueError(f"evidence ring of {capacity} bytes is too small")
        self.capacity = capacity
        self._q: deque[bytes] = deque()
        self.nbytes = 0
        """What the frames held are charged (lengths + :data:`OVERHEAD` each)."""
        self.added = 0
        self.evicted = 0
        self.too_large = 0
        self.lost_until = -math.inf

    @classmethod
    def megabytes(cls, mb: float) -> FrameRing | None:
        """A ring of ``mb`` MiB, or None for 0 (evidence off)."""
        return cls(int(mb * 1024 * 1024)) if mb > 0 else None

    def __len__(self) -> int:
        return len(self._q)

    def add(self, ts: float, linktype: int, data: bytes) -> None:
        cost = len(data) + OVERHEAD
        if cost > self.capacity:
            self.too_large += 1
            return
        self._q.append(_pack(ts, linktype) + data)
        self.added += 1
        self.nbytes += cost
        if self.nbytes > self.capacity:
            self._evict()

    def _evict(self) -> None:
        q, lost, n, total = self._q, self.lost_until, 0, self.nbytes
        while total > self.capacity:
            rec = q.popleft()
            total -= len(rec) - _AT + OVERHEAD
            n += 1
            lost = max(lost, _unpack(rec)[0])
        self.nbytes, self.lost_until = total, lost
        self.evicted += n

    def add_packet(self, pkt: object, linktype: int = LT_ETHERNET) -> None:
        """The frame under a parsed :class:`Packet` (ARP packets and simulated ones carry none)."""
        data = getattr(pkt, "data", None)
        if data:
            self.add(pkt.ts, linktype, data)  # type: ignore[attr-defined]

    def frames(self) -> list[tuple[float, int, bytes]]:
        """A consistent snapshot of the frames held, oldest first: ``(ts, linktype, data)``."""
        return [(*_unpack(rec), rec[_AT:]) for rec in list(self._q)]

    def bounds(self) -> tuple[float | None, float | None]:
        """(oldest, newest) timestamp held."""
        try:
            return _unpack(self._q[0])[0], _unpack(self._q[-1])[0]
        except IndexError:
            return None, None

    def select(
        self, hosts: set[bytes], t0: float, t1: float, max_bytes: int, per_frame: int = 16
    ) -> Selection:
        """Frames with ``t0 <= ts <= t1`` to or from any of ``hosts`` (packed addresses), in
        order, while their ``len + per_frame`` sum stays within ``max_bytes``."""
        held = list(self._q)  # a consistent snapshot (one C call), whatever the capture does
        stats = ParseStats()
        out: list[Frame] = []
        used, truncated = 0, False
        for rec in held:
            ts, lt = _unpack(rec)
            if ts < t0 or ts > t1 or not any(h in rec for h in hosts):
                continue
            data = rec[_AT:]
            pkt = parse_frame(data, lt, ts, 1 << 30, stats)  # length: the IP header's own
            if not isinstance(pkt, Packet) or (pkt.src not in hosts and pkt.dst not in hosts):
                continue
            n = len(data)
            if used + n + per_frame > max_bytes:
                truncated = True
                break
            used += n + per_frame
            wire = max(n, pkt.poff - pkt.hdr_len + pkt.length)
            out.append(Frame(ts, lt, wire, data))
        lost = self.lost_until if self.evicted else None
        oldest = _unpack(held[0])[0] if held else None
        newest = _unpack(held[-1])[0] if held else None
        return Selection(out, truncated, oldest, newest, lost)
