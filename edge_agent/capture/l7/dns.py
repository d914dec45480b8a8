"""DNS messages (RFC 1035): the first question and the A / AAAA / CNAME answers, bounded."""

from __future__ import annotations

import socket
import struct
from typing import Literal

from contracts.flowmeta import MAX_DNS_ANSWERS, MAX_NAME, DnsAnswer, DnsMeta
from edge_agent.capture.l7.text import Malformed, clean

_head = struct.Struct("!HHHHHH").unpack_from
_rr = struct.Struct("!HHIH").unpack_from
_qt = struct.Struct("!HH").unpack_from
MAX_RECORDS = 32
"""Resource records walked in one response (the first ones hold what is kept)."""
MAX_JUMPS = 16
TYPES = {
    1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 13: "HINFO", 15: "MX", 16: "TXT",
    28: "AAAA", 33: "SRV", 35: "NAPTR", 39: "DNAME", 41: "OPT", 43: "DS", 46: "RRSIG",
    47: "NSEC", 48: "DNSKEY", 64: "SVCB", 65: "HTTPS", 99: "SPF", 252: "AXFR", 255: "ANY",
    257: "CAA",
}  # fmt: skip
RCODES = (
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN",
    "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
)  # fmt: skip


def rrtype(code: int) -> str:
    return TYPES.get(code) or f"TYPE{code}"


def read_name(msg: bytes, pos: int) -> tuple[str, int]:
    """The (possibly compressed) name at ``pos``; returns it and the offset after it."""
    labels: list[bytes] = []
    end = -1
    jumps = total = 0
    while True:
        if pos >= len(msg):
            raise Malformed("dns_truncated")
        n = msg[pos]
        if n == 0:
            pos += 1
            break
        if n & 0xC0 == 0xC0:
            if pos + 1 >= len(msg):
                raise Malformed("dns_truncated")
            jumps += 1
            if jumps > MAX_JUMPS:
                raise Malformed("dns_pointer_loop")
            if end < 0:
                end = pos + 2
            pos = ((n & 0x3F) << 8) | msg[pos + 1]
            continue
        if n & 0xC0:
            raise Malformed("dns_bad_label")
        label = msg[pos + 1 : pos + 1 + n]
        if len(label) < n:
            raise Malformed("dns_truncated")
        total += n + 1
        if total > 255:
            raise Malformed("dns_name_too_long")
        labels.append(label)
        pos += 1 + n
    return clean(b".".join(labels), MAX_NAME) or ".", end if end >= 0 else pos


def parse(msg: bytes) -> tuple[bool, DnsMeta, str | None]:
    """One DNS message: (is a response, what it says, why its answers stop early or None).

    Raises :class:`Malformed` when not even the question parses."""
    if len(msg) < 12:
        raise Malformed("dns_truncated")
    _id, flags, qd, an, _ns, _ar = _head(msg, 0)
    if flags & 0x7800:  # opcode other than QUERY: not a lookup
        raise Malformed("dns_not_query")
    if qd == 0:
        raise Malformed("dns_no_question")
    name, pos = read_name(msg, 12)
    if pos + 4 > len(msg):
        raise Malformed("dns_truncated")
    qtype = _qt(msg, pos)[0]
    pos += 4
    response = bool(flags & 0x8000)
    if not response:
        return False, DnsMeta.model_construct(rrname=name, rrtype=rrtype(qtype), answers=[]), None
    rc = flags & 0x0F
    for _ in range(min(qd, 4) - 1):  # further questions (rare): skip them
        pos = read_name(msg, pos)[1] + 4
    answers: list[DnsAnswer] = []
    short = None
    try:
        _answers(msg, pos, min(an, MAX_RECORDS), answers)
    except Malformed as exc:  # keep the answers read before the damage
        short = exc.reason
    return (
        True,
        DnsMeta.model_construct(
            rrname=name,
            rrtype=rrtype(qtype),
            rcode=RCODES[rc] if rc < len(RCODES) else f"RCODE{rc}",
            answers=answers,
        ),
        short,
    )


def _answers(msg: bytes, pos: int, count: int, out: list[DnsAnswer]) -> None:
    for _ in range(count):
        pos = read_name(msg, pos)[1]
        if pos + 10 > len(msg):
            raise Malformed("dns_truncated")
        typ, _cls, _ttl, rdlen = _rr(msg, pos)
        pos += 10
        if pos + rdlen > len(msg):
            raise Malformed("dns_truncated")
        if typ == 1 and rdlen == 4:
            out.append(_answer("A", socket.inet_ntop(socket.AF_INET, msg[pos : pos + 4])))
        elif typ == 28 and rdlen == 16:
            out.append(_answer("AAAA", socket.inet_ntop(socket.AF_INET6, msg[pos : pos + 16])))
        elif typ == 5:
            out.append(_answer("CNAME", read_name(msg, pos)[0]))
        pos += rdlen
        if len(out) >= MAX_DNS_ANSWERS:
            return


def _answer(kind: Literal["A", "AAAA", "CNAME"], value: str) -> DnsAnswer:
    return DnsAnswer.model_construct(rrtype=kind, rdata=value)
