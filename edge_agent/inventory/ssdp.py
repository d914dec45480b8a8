"""SSDP (UPnP discovery, UDP 1900): the ``SERVER`` and ``USN`` headers a device announces."""

from __future__ import annotations

from dataclasses import dataclass

from edge_agent.capture.l7.text import Malformed, clean

PORT = 1900
MAX_HEAD = 2048
"""Bytes of a message read (NOTIFY and M-SEARCH replies are a few hundred)."""
MAX_LINES = 32
MAX_TEXT = 200
_STARTS = (b"NOTIFY ", b"HTTP/1.1 200", b"HTTP/1.0 200", b"M-SEARCH ")


@dataclass(frozen=True, slots=True)
class SsdpInfo:
    announce: bool
    """NOTIFY or a search reply (the sender describes itself); False for an M-SEARCH."""
    server: str | None
    usn: str | None


def parse(msg: bytes) -> SsdpInfo:
    """One SSDP message; raises :class:`Malformed` (``ssdp_*``) when it is not one."""
    head = msg[:MAX_HEAD]
    if not head.startswith(_STARTS):
        raise Malformed("ssdp_not_ssdp")
    server = usn = None
    lines = head.split(b"\n", MAX_LINES)[1:MAX_LINES]
    for line in lines:
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        key = name.strip().upper()
        if key == b"SERVER" and server is None:
            server = clean(value.strip(), MAX_TEXT) or None
        elif key == b"USN" and usn is None:
            usn = clean(value.strip(), MAX_TEXT) or None
    return SsdpInfo(not head.startswith(b"M-SEARCH "), server, usn)
