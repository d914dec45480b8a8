"""Selected frames -> one classic pcap (microsecond timestamps), in memory."""

from __future__ import annotations

import struct
from collections.abc import Sequence

from edge_agent.evidence.ring import Frame

GLOBAL_HEADER = 24
RECORD_HEADER = 16
SNAPLEN = 262_144
_rec = struct.Struct("<IIII").pack


def to_pcap(frames: Sequence[Frame]) -> tuple[bytes, int]:
    """(pcap bytes, frames written). A pcap has one link type: frames of another link type
    than the first one are left out (a sensor captures on one interface)."""
    linktype = frames[0].linktype if frames else 1
    parts = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, linktype)]
    n = 0
    for f in frames:
        if f.linktype != linktype:
            continue
        us = round(f.ts * 1_000_000)
        parts.append(_rec(us // 1_000_000, us % 1_000_000, len(f.data), f.wirelen))
        parts.append(f.data)
        n += 1
    return b"".join(parts), n
