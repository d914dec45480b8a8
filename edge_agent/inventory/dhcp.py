"""DHCP / BOOTP (RFC 2131, 2132) on UDP 67/68: what a client says about itself, bounded."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from contracts.events import MAX_DHCP_PRL
from edge_agent.capture.l7.text import Malformed, clean

PORTS = (67, 68)
COOKIE = b"\x63\x82\x53\x63"
BOOTREQUEST, BOOTREPLY = 1, 2
ACK = 5
MAX_OPTIONS = 128
"""Options walked in one message (a real client sends 5-15)."""
MAX_TEXT = 200
_fixed = struct.Struct("!BBBB4xHH4s4s4s4s16s").unpack_from
_ZERO_IP = bytes(4)


@dataclass(frozen=True, slots=True)
class DhcpInfo:
    """One message: the client's MAC, and what it said (requests) or was given (replies)."""

    op: int
    mac: bytes
    msg_type: int | None
    ip: bytes | None
    """The client's address: ``ciaddr``, else the requested one (option 50), else for a
    reply (ACK) the assigned ``yiaddr``."""
    hostname: str | None = None
    vendor_class: str | None = None
    prl: tuple[int, ...] = ()


def parse(msg: bytes) -> DhcpInfo:
    """One DHCP message; raises :class:`Malformed` (``dhcp_*``) when it is not one."""
    if len(msg) < 240:
        raise Malformed("dhcp_truncated")
    op, htype, hlen, _hops, _secs, _flags, ciaddr, yiaddr, _siaddr, _giaddr, chaddr = _fixed(msg, 0)
    if op not in (BOOTREQUEST, BOOTREPLY) or htype != 1 or hlen != 6:
        raise Malformed("dhcp_not_ethernet")
    if msg[236:240] != COOKIE:
        raise Malformed("dhcp_no_cookie")
    opts = _options(msg, 240)
    mtype = opts.get(53)
    msg_type = mtype[0] if mtype else None
    ip: bytes | None = ciaddr if ciaddr != _ZERO_IP else None
    req = opts.get(50)
    if ip is None and op == BOOTREQUEST and req is not None and len(req) == 4:
        ip = req
    if ip is None and op == BOOTREPLY and msg_type == ACK and yiaddr != _ZERO_IP:
        ip = yiaddr
    if op == BOOTREPLY:  # the server's options describe the server, not the client
        return DhcpInfo(op, chaddr[:6], msg_type, ip)
    return DhcpInfo(
        op,
        chaddr[:6],
        msg_type,
        ip,
        _text(opts.get(12)),
        _text(opts.get(60)),
        tuple(opts.get(55, b"")[:MAX_DHCP_PRL]),
    )


def _options(msg: bytes, pos: int) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    end = len(msg)
    for _ in range(MAX_OPTIONS):
        if pos >= end:
            break  # no END option: keep what was read
        code = msg[pos]
        if code == 0:  # pad
            pos += 1
            continue
        if code == 255:
            break
        if pos + 1 >= end:
            raise Malformed("dhcp_truncated")
        n = msg[pos + 1]
        if pos + 2 + n > end:
            raise Malformed("dhcp_truncated")
        out.setdefault(code, msg[pos + 2 : pos + 2 + n])
        pos += 2 + n
    return out


def _text(raw: bytes | None) -> str | None:
    if not raw:
        return None
    text = clean(raw.rstrip(b"\x00"), MAX_TEXT).strip()
    return text or None
