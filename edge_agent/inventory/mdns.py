"""mDNS (RFC 6762 / DNS-SD RFC 6763, UDP 5353): the names a device claims for itself.

From responses: the owner of A / AAAA records (``printer.local``), the instance names of
SRV owners and PTR targets (``Office Printer._ipp._tcp.local``) and SRV targets. From
queries: only the records in the authority section (a probe for a name it wants to claim),
never the questions (what it looks for is not what it is). Bounded: records walked per message
and names kept."""

from __future__ import annotations

import struct

from edge_agent.capture.l7.dns import read_name
from edge_agent.capture.l7.text import Malformed

PORT = 5353
MAX_RECORDS = 32
MAX_NAMES = 8
_head = struct.Struct("!HHHHHH").unpack_from
_rr = struct.Struct("!HHIH").unpack_from
A, PTR, AAAA, SRV = 1, 12, 28, 33
_SKIP_SUFFIX = ("._dns-sd._udp.local", ".in-addr.arpa", ".ip6.arpa")


def parse(msg: bytes) -> list[str]:
    """The names one mDNS message claims (at most :data:`MAX_NAMES`, in order, unique);
    raises :class:`Malformed` (``mdns_*`` / ``dns_*``) when the message does not parse."""
    if len(msg) < 12:
        raise Malformed("mdns_truncated")
    _id, flags, qd, an, ns, ar = _head(msg, 0)
    if flags & 0x7800:
        raise Malformed("mdns_not_query")
    pos = 12
    for _ in range(min(qd, MAX_RECORDS)):
        pos = read_name(msg, pos)[1] + 4
    response = bool(flags & 0x8000)
    names: list[str] = []
    if response:
        _records(msg, pos, min(an + ns + ar, MAX_RECORDS), names)
    elif ns and an <= MAX_RECORDS:  # a probe: its authority records are the names it claims
        pos = _records(msg, pos, an, None)  # known answers (others' records): skipped
        _records(msg, pos, min(ns, MAX_RECORDS), names)
    return names


def _records(msg: bytes, pos: int, count: int, out: list[str] | None) -> int:
    """Walk ``count`` records from ``pos``, collecting names into ``out`` (None: skip them);
    returns the offset after them."""
    for _ in range(count):
        owner, pos = read_name(msg, pos)
        if pos + 10 > len(msg):
            raise Malformed("mdns_truncated")
        typ, _cls, _ttl, rdlen = _rr(msg, pos)
        pos += 10
        if pos + rdlen > len(msg):
            raise Malformed("mdns_truncated")
        if out is None:
            pass
        elif typ in (A, AAAA):
            _add(out, owner)
        elif typ == PTR:
            _add(out, read_name(msg, pos)[0])
        elif typ == SRV and rdlen > 6:
            _add(out, owner)
            _add(out, read_name(msg, pos + 6)[0])
        pos += rdlen
        if out is not None and len(out) >= MAX_NAMES:
            break
    return pos


def _add(out: list[str], name: str) -> None:
    if name == "." or name.endswith(_SKIP_SUFFIX) or name.startswith("_") or name in out:
        return
    if len(out) < MAX_NAMES:
        out.append(name)
