"""Community ID v1 of a flow (https://github.com/corelight/community-id-spec), with Corelight's
reference implementation (the ``communityid`` package).

The flow table computes it once, when a flow is created. The tuple handed to the package is
already in network byte order and in the specification's canonical order (the smaller
endpoint first), so the package hashes it without its slower conversions; ICMP goes through
the package's own type/code pairing (``FlowTuple``'s bidirectional handling) in full.
"""

from __future__ import annotations

import logging
import struct

from communityid import CommunityID, FlowTuple

from edge_agent.capture.packet import ICMP, ICMP6, Packet

_port = struct.Struct("!H").pack

# The package traces every hash at INFO (its CLI's -vv): a log line per byte group per flow.
logging.getLogger("communityid").setLevel(logging.WARNING)


CACHE = 1024
"""Community IDs kept by flow key (cleared when full): a 5-tuple seen again soon (a flow split
by the active timeout, a client reusing its port) costs a dict look-up, not a hash. On the
replay capture 1024 entries (~0.1 MB) save as much as 16384: over half of its flows."""


class CommunityIds:
    """Community IDs with one seed (0 by default, the value every tool uses unless told)."""

    __slots__ = ("_algo", "_cache")

    def __init__(self, seed: int = 0) -> None:
        if not 0 <= seed <= 0xFFFF:
            raise ValueError(f"community-id seed {seed} is not a 16-bit value")
        self._algo = CommunityID(seed=seed)
        self._cache: dict[object, str] = {}

    def of(self, pkt: Packet, key: object = None) -> str:
        """The Community ID of the flow whose first packet is ``pkt``; ``key`` (the flow
        table's key of that flow, which must not depend on the direction) caches it."""
        if key is None:
            return self._compute(pkt)
        if pkt.proto in (ICMP, ICMP6):  # one key, several type/code pairs
            return self._compute(pkt)
        cache = self._cache
        value = cache.get(key)
        if value is None:
            if len(cache) >= CACHE:
                cache.clear()
            value = cache[key] = self._compute(pkt)
        return value

    def _compute(self, pkt: Packet) -> str:
        proto = pkt.proto
        if proto in (ICMP, ICMP6):
            data, at = pkt.data, pkt.poff - 8  # the ICMP type and code
            mtype, code = (data[at], data[at + 1]) if at >= 0 and len(data) > at + 1 else (0, 0)
            value = self._algo.calc(FlowTuple(proto, pkt.src, pkt.dst, mtype, code))
        else:
            s, d, sp, dp = pkt.src, pkt.dst, pkt.sport, pkt.dport
            if (d, dp) < (s, sp):
                s, d, sp, dp = d, s, dp, sp
            tpl = FlowTuple(proto, s, d, _port(sp), _port(dp), is_one_way=True)
            value = self._algo.render(self._algo.hash(tpl))
        return str(value)
