"""SSH identification strings (RFC 4253 section 4.2): ``SSH-2.0-OpenSSH_9.6``."""

from __future__ import annotations

from contracts.flowmeta import MAX_BANNER
from edge_agent.capture.l7.text import Malformed, clean

PREFIX = b"SSH-"


def banner(chunk: bytes) -> str:
    """The identification line in a side's first bytes (a server may send other lines before
    it). Raises :class:`Malformed` when there is none in them."""
    at = 0 if chunk.startswith(PREFIX) else chunk.find(b"\n" + PREFIX, 0, 1024) + 1
    if at == 0 and not chunk.startswith(PREFIX):
        raise Malformed("ssh_no_banner")
    line = chunk[at : at + MAX_BANNER + 2]
    end = line.find(b"\n")
    if end >= 0:
        line = line[:end]
    return clean(line.rstrip(b"\r"), MAX_BANNER)
