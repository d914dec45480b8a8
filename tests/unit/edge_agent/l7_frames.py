"""Application payloads built by hand (TLS ClientHello, DNS, HTTP, SSH) and frames carrying
them, for the L7 metadata tests."""

from __future__ import annotations

import struct
from pathlib import Path

from contracts.events import FlowRecord
from edge_agent.capture import open_source, write_pcap
from edge_agent.capture.frames import Frame, addr, tcp_frame, udp_frame
from edge_agent.capture.packet import ACK, PSH, SYN
from edge_agent.flows import FlowConfig
from edge_agent.pipeline import Pipeline

CLIENT, SERVER = addr("192.168.1.10"), addr("10.0.0.5")
GREASE_CIPHER, GREASE_EXT_1, GREASE_EXT_2, GREASE_VERSION = 0x0A0A, 0x1A1A, 0x2A2A, 0x3A3A
# FoxIO's worked example (technical_details/JA4.md): 15 ciphers, 16 extensions, h2,
# its signature algorithms; JA4 = t13d1516h2_8daaf6152771_e5627efa2ab1.
EXAMPLE_CIPHERS = [0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8,
                   0xC013, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035]  # fmt: skip
EXAMPLE_EXTS = [0x001B, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002D, 0x000D, 0x0005,
                0x0023, 0x0012, 0x002B, 0xFF01, 0x000B, 0x000A, 0x0015]  # fmt: skip
EXAMPLE_SIGS = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]
EXAMPLE_JA4 = "t13d1516h2_8daaf6152771_e5627efa2ab1"


def _u16s(values: list[int]) -> bytes:
    return b"".join(struct.pack("!H", v) for v in values)


def ext_data(typ: int, sni: str, alpn: list[bytes]) -> bytes:
    if typ == 0x0000:
        name = sni.encode()
        entry = b"\x00" + struct.pack("!H", len(name)) + name
        return struct.pack("!H", len(entry)) + entry
    if typ == 0x0010:
        body = b"".join(bytes((len(a),)) + a for a in alpn)
        return struct.pack("!H", len(body)) + body
    if typ == 0x000D:
        return struct.pack("!H", 2 * len(EXAMPLE_SIGS)) + _u16s(EXAMPLE_SIGS)
    if typ == 0x002B:
        return bytes((6,)) + _u16s([GREASE_VERSION, 0x0304, 0x0303])
    return b""


def client_hello(
    sni: str = "example.com",
    alpn: tuple[bytes, ...] = (b"h2", b"http/1.1"),
    ciphers: list[int] | None = None,
    exts: list[int] | None = None,
) -> bytes:
    """A TLS record with a ClientHello: FoxIO's example fields plus GREASE by default."""
    ciphers = [GREASE_CIPHER, *EXAMPLE_CIPHERS] if ciphers is None else ciphers
    exts = [GREASE_EXT_1, *EXAMPLE_EXTS, GREASE_EXT_2] if exts is None else exts
    ext = b"".join(
        struct.pack("!H", t) + struct.pack("!H", len(d)) + d
        for t in exts
        for d in [ext_data(t, sni, list(alpn))]
    )
    body = (
        b"\x03\x03" + bytes(32) + b"\x20" + bytes(32)
        + struct.pack("!H", 2 * len(ciphers)) + _u16s(ciphers) + b"\x01\x00"
        + struct.pack("!H", len(ext)) + ext
    )  # fmt: skip
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def dns_name(name: str) -> bytes:
    return b"".join(bytes((len(p),)) + p.encode() for p in name.split(".")) + b"\x00"


def dns_query(name: str = "www.example.com", qtype: int = 1, qid: int = 0x1234) -> bytes:
    return (
        struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
        + dns_name(name)
        + struct.pack("!HH", qtype, 1)
    )


def dns_response(name: str = "www.example.com", rcode: int = 0, qid: int = 0x1234) -> bytes:
    """A CNAME to example.com (compressed) and its A record 93.184.216.34."""
    answers = [
        b"\xc0\x0c" + struct.pack("!HHIH", 5, 1, 300, 2) + b"\xc0\x10",  # -> example.com
        b"\xc0\x10" + struct.pack("!HHIH", 1, 1, 300, 4) + bytes((93, 184, 216, 34)),
    ] if rcode == 0 else []  # fmt: skip
    head = struct.pack("!HHHHHH", qid, 0x8180 | rcode, 1, len(answers), 0, 0)
    return head + dns_name(name) + struct.pack("!HH", 1, 1) + b"".join(answers)


HTTP_REQUEST = (
    b"GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\n"
    b"User-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n"
)


def with_payload(frame: Frame, payload: bytes) -> Frame:
    ts, hdr, wire, label = frame
    return ts, hdr + payload, wire, label


def tcp_session(
    client_says: list[bytes], server_says: list[bytes], dport: int = 443
) -> list[Frame]:
    """A handshake, then the client's segments, then the server's (headers sized to each)."""
    t = 1_700_000_000.0
    f = [
        tcp_frame(t, CLIENT, SERVER, 50000, dport, SYN),
        tcp_frame(t + 0.01, SERVER, CLIENT, dport, 50000, SYN | ACK),
        tcp_frame(t + 0.02, CLIENT, SERVER, 50000, dport, ACK),
    ]
    for i, p in enumerate(client_says):
        f.append(
            with_payload(
                tcp_frame(t + 0.03 + i / 1000, CLIENT, SERVER, 50000, dport, PSH | ACK, len(p)), p
            )
        )
    for i, p in enumerate(server_says):
        f.append(
            with_payload(
                tcp_frame(t + 0.05 + i / 1000, SERVER, CLIENT, dport, 50000, PSH | ACK, len(p)), p
            )
        )
    return f


def udp_exchange(query: bytes, answer: bytes | None) -> list[Frame]:
    t = 1_700_000_000.0
    f = [with_payload(udp_frame(t, CLIENT, SERVER, 53000, 53, len(query)), query)]
    if answer is not None:
        f.append(with_payload(udp_frame(t + 0.01, SERVER, CLIENT, 53, 53000, len(answer)), answer))
    return f


def records(
    tmp_path: Path, frames: list[Frame], l7: bool = True
) -> tuple[list[FlowRecord], Pipeline]:
    """The flow records of ``frames`` through the real pcap reader and pipeline."""
    pcap = tmp_path / "l7.pcap"
    write_pcap(pcap, frames)
    pipe = Pipeline("pi-1", config=FlowConfig(l7=l7))
    out = [e for p in open_source(f"pcap:{pcap}") for e in pipe.feed(p)] + pipe.close()
    return [e for e in out if isinstance(e, FlowRecord)], pipe
