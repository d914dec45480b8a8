"""TLS ClientHello (RFC 8446 section 4.1.2): what JA4 and the operator need, bounded.

:func:`hello_bytes` takes the client's first bytes of a TCP flow (possibly several segments)
and returns the ClientHello handshake message once it is whole; :func:`parse_hello` reads it.
"""

from __future__ import annotations

import struct

from contracts.flowmeta import MAX_ALPN, MAX_NAME
from edge_agent.capture.l7.text import Malformed, clean

_u16 = struct.Struct("!H").unpack_from
HANDSHAKE = 22
CLIENT_HELLO = 1
MAX_HELLO = 16_384
"""A ClientHello larger than this (one full TLS record) is not reassembled."""
EXT_SNI, EXT_ALPN, EXT_SIG_ALGS, EXT_VERSIONS = 0x0000, 0x0010, 0x000D, 0x002B


GREASE = frozenset(0x0A0A + 0x1010 * i for i in range(16))
"""RFC 8701 values: 0x0a0a, 0x1a1a, ... 0xfafa."""


def is_grease(v: int) -> bool:
    return v in GREASE


def _u16_list(msg: bytes, pos: int, nbytes: int) -> list[int]:
    return list(struct.unpack_from(f"!{nbytes // 2}H", msg, pos))


class ClientHello:
    """The fields of one ClientHello, GREASE included (JA4 drops it)."""

    __slots__ = ("alpn", "ciphers", "extensions", "sig_algs", "sni", "version", "versions")

    def __init__(self) -> None:
        self.version = 0  # legacy_version
        self.ciphers: list[int] = []
        self.extensions: list[int] = []
        self.sni: str | None = None
        self.alpn: list[bytes] = []
        self.sig_algs: list[int] = []
        self.versions: list[int] = []  # supported_versions


def hello_bytes(buf: bytes) -> bytes | None:
    """The ClientHello message (handshake header included) in ``buf``, the client's first
    bytes; None while more bytes are needed. Raises :class:`Malformed`."""
    hs = bytearray()
    pos = 0
    while pos + 5 <= len(buf):
        ctype = buf[pos]
        if ctype != HANDSHAKE:
            raise Malformed("tls_not_handshake")
        if buf[pos + 1] != 3:
            raise Malformed("tls_bad_record_version")
        rlen = _u16(buf, pos + 3)[0]
        if rlen == 0 or rlen > MAX_HELLO + 2048:
            raise Malformed("tls_bad_record_length")
        hs += buf[pos + 5 : pos + 5 + rlen]
        pos += 5 + rlen
        if len(hs) >= 4:
            if hs[0] != CLIENT_HELLO:
                raise Malformed("tls_not_client_hello")
            need = 4 + int.from_bytes(hs[1:4], "big")
            if need > MAX_HELLO:
                raise Malformed("tls_hello_too_long")
            if len(hs) >= need:
                return bytes(hs[:need])
    return None


def parse_hello(msg: bytes) -> ClientHello:
    """Read a ClientHello message (from :func:`hello_bytes`). Raises :class:`Malformed`."""
    h = ClientHello()
    end = len(msg)
    if end < 4 + 2 + 32 + 1:
        raise Malformed("tls_truncated")
    h.version = _u16(msg, 4)[0]
    pos = 4 + 2 + 32
    pos += 1 + msg[pos]  # session id
    n = _need(msg, pos, 2)
    pos += 2
    if n % 2 or pos + n > end:
        raise Malformed("tls_bad_ciphers")
    h.ciphers = _u16_list(msg, pos, n)
    pos += n
    pos += 1 + _need(msg, pos, 1)  # compression methods
    if pos > end:
        raise Malformed("tls_truncated")
    if pos == end:
        return h  # no extensions (SSL 3.0 style hello)
    ext_end = pos + 2 + _need(msg, pos, 2)
    if ext_end > end:
        raise Malformed("tls_bad_extensions")
    pos += 2
    while pos + 4 <= ext_end:
        typ, n = _u16(msg, pos)[0], _u16(msg, pos + 2)[0]
        pos += 4
        if pos + n > ext_end:
            raise Malformed("tls_bad_extension")
        h.extensions.append(typ)
        if typ == EXT_SNI:
            h.sni = _sni(msg[pos : pos + n])
        elif typ == EXT_ALPN:
            h.alpn = _alpn(msg[pos : pos + n])
        elif typ == EXT_SIG_ALGS and n >= 2:
            h.sig_algs = _u16_list(msg, pos + 2, min(_u16(msg, pos)[0], n - 2))
        elif typ == EXT_VERSIONS and n >= 1:
            h.versions = _u16_list(msg, pos + 1, min(msg[pos], n - 1))
        pos += n
    return h


def _need(msg: bytes, pos: int, width: int) -> int:
    if pos + width > len(msg):
        raise Malformed("tls_truncated")
    return msg[pos] if width == 1 else _u16(msg, pos)[0]


def _sni(ext: bytes) -> str | None:
    pos = 2  # server_name_list length
    while pos + 3 <= len(ext):
        kind, n = ext[pos], _u16(ext, pos + 1)[0]
        if kind == 0:
            return clean(ext[pos + 3 : pos + 3 + n], MAX_NAME)
        pos += 3 + n
    return None


def _alpn(ext: bytes) -> list[bytes]:
    out: list[bytes] = []
    pos = 2  # protocol_name_list length
    while pos < len(ext) and len(out) < MAX_ALPN:
        n = ext[pos]
        out.append(ext[pos + 1 : pos + 1 + n])
        pos += 1 + n
    return out
