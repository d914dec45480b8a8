"""HTTP/1.x requests: method, target, Host and User-Agent from the first bytes, bounded."""

from __future__ import annotations

from contracts.flowmeta import MAX_TEXT, HttpMeta
from edge_agent.capture.l7.text import Malformed, clean

METHODS = frozenset(
    (b"GET", b"POST", b"HEAD", b"PUT", b"DELETE", b"OPTIONS", b"PATCH", b"CONNECT", b"TRACE")
)
MAX_HEAD = 4096
"""Header bytes looked at: Host and User-Agent come first in practice."""


def looks_like(chunk: bytes) -> bool:
    """The start of an HTTP/1.x request (a known method and a space)."""
    sp = chunk.find(b" ", 0, 8)
    return sp > 0 and chunk[:sp] in METHODS


def parse(buf: bytes) -> HttpMeta:
    """The request line and headers in ``buf`` (the client's first bytes). Raises
    :class:`Malformed` when the request line is not whole or not HTTP/1.x."""
    head = buf[:MAX_HEAD]
    eol = head.find(b"\r\n")
    if eol < 0:
        raise Malformed("http_truncated")
    parts = head[:eol].split(b" ")
    if len(parts) != 3 or parts[0] not in METHODS:
        raise Malformed("http_bad_request_line")
    method, target, proto = parts
    if proto not in (b"HTTP/1.0", b"HTTP/1.1"):
        raise Malformed("http_bad_version")
    host = agent = None
    for line in head[eol + 2 :].split(b"\r\n"):
        if not line:
            break
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        key = name.strip().lower()
        if key == b"host" and host is None:
            host = clean(value.strip(), MAX_TEXT)
        elif key == b"user-agent" and agent is None:
            agent = clean(value.strip(), MAX_TEXT)
    return HttpMeta.model_construct(
        http_method=method.decode(),
        url=clean(target, MAX_TEXT),
        protocol=proto.decode(),
        hostname=host,
        http_user_agent=agent,
    )
