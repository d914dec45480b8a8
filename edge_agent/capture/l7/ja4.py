"""JA4, the TLS client fingerprint (FoxIO, BSD 3-Clause; technical_details/JA4.md).

``t13d1516h2_8daaf6152771_e5627efa2ab1``: protocol, version, SNI or not, cipher and extension
counts, ALPN's first and last characters; the truncated sha256 of the sorted ciphers; that of
the sorted extensions (SNI and ALPN left out) and the signature algorithms in their order.
GREASE values are ignored everywhere. Only JA4 itself: the other JA4+ methods have another
licence.
"""

from __future__ import annotations

import struct
from hashlib import sha256

from edge_agent.capture.l7.tls import EXT_ALPN, EXT_SNI, GREASE, ClientHello

VERSIONS = {
    0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3", 0x0002: "s2",
    0xFEFF: "d1", 0xFEFD: "d2", 0xFEFC: "d3",
}  # fmt: skip
EMPTY = "000000000000"


def _hex4(values: list[int]) -> str:
    """``[5, 10]`` -> ``"0005,000a"`` (one C call: pack, then hex with a separator)."""
    return struct.pack(f"!{len(values)}H", *values).hex(",", 2) if values else ""


def _alnum(c: int) -> bool:
    return 0x30 <= c <= 0x39 or 0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A


def alpn_code(first: bytes | None) -> str:
    """First and last character of the first ALPN value ("00" without one; a one-byte value
    is both). When either is not ASCII alphanumeric, the specification prints the first and
    last hex digits of the value instead; except that where one is not ASCII at all
    (0x80..0xff), FoxIO's Python and Rust implementations, and so the expected values of its
    test captures, print "9" for it: so do we (an alphanumeric partner stays as it is)."""
    if not first:
        return "00"
    a, b = first[0], first[-1]
    if _alnum(a) and _alnum(b):
        return chr(a) + chr(b)
    h = first.hex()
    if a < 0x80 and b < 0x80:
        return h[0] + h[-1]
    return _nine(a, h[0]) + _nine(b, h[-1])


def _nine(c: int, hex_digit: str) -> str:
    if _alnum(c):
        return chr(c)
    return "9" if c >= 0x80 else hex_digit


def _hash(text: str) -> str:
    return sha256(text.encode()).hexdigest()[:12] if text else EMPTY


def highest_version(h: ClientHello) -> int:
    offered = [v for v in h.versions if v not in GREASE]
    return max(offered) if offered else h.version


def ja4(h: ClientHello, proto: str = "t") -> str:
    ciphers = [c for c in h.ciphers if c not in GREASE]
    exts = [e for e in h.extensions if e not in GREASE]
    version = VERSIONS.get(highest_version(h), "00")
    sni = "d" if EXT_SNI in exts else "i"
    head = (
        f"{proto}{version}{sni}{min(len(ciphers), 99):02d}{min(len(exts), 99):02d}"
        f"{alpn_code(h.alpn[0] if h.alpn else None)}"
    )
    cipher_hash = _hash(_hex4(sorted(ciphers)))
    ext_text = _hex4(sorted(e for e in exts if e not in (EXT_SNI, EXT_ALPN)))
    sigs = [s for s in h.sig_algs if s not in GREASE]
    if ext_text and sigs:
        ext_text += "_" + _hex4(sigs)
    return f"{head}_{cipher_hash}_{_hash(ext_text)}"
