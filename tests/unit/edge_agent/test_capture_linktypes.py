"""The frame parser on every supported link type, tags, IPv6, fragments and the pcap variants."""

from __future__ import annotations

import socket
import struct

import pytest

from edge_agent.capture import ParseStats, open_source, parse_frame, write_pcap
from edge_agent.capture.frames import addr, tcp_frame, udp_frame
from edge_agent.capture.packet import ACK, PSH, SYN, TCP, UDP

A, B = addr("192.168.7.1"), addr("192.168.7.2")
S6 = socket.inet_pton(socket.AF_INET6, "2001:db8::a")
D6 = socket.inet_pton(socket.AF_INET6, "2001:db8::b")


def _ipv4_tcp() -> bytes:
    """IPv4 + TCP headers of a 100-byte-payload PSH/ACK segment (no Ethernet header)."""
    _, frame, _, _ = tcp_frame(1.0, A, B, 40000, 8080, PSH | ACK, payload=100, window=777)
    return frame[14:]


def _ipv6_tcp(ext: bytes = b"", first_next: int = TCP) -> bytes:
    tcp = struct.pack("!HHIIBBHHH", 40001, 443, 0, 0, 0x50, SYN, 1000, 0, 0)
    plen = len(ext) + len(tcp) + 30  # 30 payload bytes not captured
    return struct.pack("!IHBB16s16s", 6 << 28, plen, first_next, 64, S6, D6) + ext + tcp


def _parse(data: bytes, linktype: int, wirelen: int | None = None) -> tuple[object, ParseStats]:
    stats = ParseStats()
    pkt = parse_frame(data, linktype, 5.0, wirelen or len(data), stats)
    return pkt, stats


ETH_IP4 = bytes(12) + b"\x08\x00"
V4_WIRE = 40 + 100


@pytest.mark.parametrize(
    ("linktype", "header"),
    [
        (1, ETH_IP4),
        (1, bytes(12) + b"\x81\x00\x00\x0a\x08\x00"),  # 802.1Q
        (1, bytes(12) + b"\x88\xa8\x00\x0a\x81\x00\x00\x14\x08\x00"),  # QinQ
        (101, b""),
        (12, b""),
        (14, b""),
        (228, b""),
        (113, bytes(14) + b"\x08\x00"),  # Linux cooked v1
        (276, b"\x08\x00" + bytes(18)),  # Linux cooked v2
        (0, struct.pack("<I", 2)),  # BSD loopback, little-endian capture host
        (108, struct.pack(">I", 2)),  # OpenBSD loopback, network order
    ],
)
def test_ipv4_tcp_on_every_link_type(linktype, header):
    # prepare / execute
    pkt, stats = _parse(header + _ipv4_tcp(), linktype, wirelen=len(header) + V4_WIRE)
    # assert
    assert pkt is not None, stats.skipped
    assert (pkt.src, pkt.dst, pkt.sport, pkt.dport, pkt.proto) == (A, B, 40000, 8080, TCP)
    assert (pkt.length, pkt.hdr_len, pkt.payload) == (V4_WIRE, 40, 100)
    assert (pkt.flags, pkt.window, pkt.ts) == (PSH | ACK, 777, 5.0)
    assert stats.parsed == 1 and not stats.skipped


@pytest.mark.parametrize(
    ("linktype", "header"),
    [(1, bytes(12) + b"\x86\xdd"), (229, b""), (101, b""), (0, struct.pack("<I", 30))],
)
def test_ipv6_is_parsed(linktype, header):
    pkt, _ = _parse(header + _ipv6_tcp(), linktype, wirelen=len(header) + 90)
    assert pkt is not None
    assert (pkt.src, pkt.dst, pkt.sport, pkt.dport, pkt.flags) == (S6, D6, 40001, 443, SYN)
    assert (pkt.length, pkt.hdr_len, pkt.payload) == (40 + 20 + 30, 60, 30)


def test_ipv6_extension_headers_are_walked():
    hop_by_hop = bytes((TCP, 0)) + bytes(6)  # next header TCP, 8 bytes long
    pkt, _ = _parse(_ipv6_tcp(hop_by_hop, first_next=0), 229, wirelen=98)
    assert pkt is not None and pkt.dport == 443 and pkt.hdr_len == 40 + 8 + 20


def test_ipv6_later_fragment_is_skipped_first_fragment_parsed():
    later = bytes((TCP, 0)) + struct.pack("!HI", 185 << 3, 1)
    first = bytes((TCP, 0)) + struct.pack("!HI", 1, 1)  # offset 0, more fragments
    pkt, stats = _parse(_ipv6_tcp(later, first_next=44), 229)
    assert pkt is None and stats.skipped["ip_fragment"] == 1
    pkt, _ = _parse(_ipv6_tcp(first, first_next=44), 229)
    assert pkt is not None and pkt.sport == 40001


def test_ipv4_fragments():
    ip = bytearray(_ipv4_tcp())
    ip[6:8] = struct.pack("!H", 0x2000)  # more fragments, offset 0: has the TCP header
    pkt, _ = _parse(bytes(ip), 101)
    assert pkt is not None and pkt.dport == 8080
    ip[6:8] = struct.pack("!H", 0x2000 | 185)  # a later fragment: no transport header
    pkt, stats = _parse(bytes(ip), 101)
    assert pkt is None and stats.skipped["ip_fragment"] == 1


@pytest.mark.parametrize(
    ("data", "linktype", "reason"),
    [
        (bytes(12) + b"\x08\x06" + bytes(28), 1, "arp_bad_header"),  # not Ethernet/IPv4
        (bytes(12) + b"\x88\xcc" + bytes(30), 1, "non_ip"),  # LLDP
        (bytes(12) + b"\x00\x40" + bytes(64), 1, "non_ip"),  # 802.3 length field
        (ETH_IP4 + _ipv4_tcp(), 147, "linktype_147"),
        (ETH_IP4 + _ipv4_tcp()[:30], 1, "truncated"),  # TCP header cut short
        (ETH_IP4 + b"\x45", 1, "truncated"),
        (bytes(12) + b"\x81\x00\x00", 1, "truncated"),  # a tag cut short
        (b"", 101, "truncated"),
        (b"\x00" * 10, 113, "truncated"),
        (b"\x00" * 10, 276, "truncated"),
        (b"\x02", 0, "truncated"),
        (b"\x55" + bytes(40), 101, "non_ip"),  # IP version 5
        (struct.pack("<I", 7) + _ipv4_tcp(), 0, "non_ip"),  # unknown address family
    ],
)
def test_malformed_and_foreign_frames_are_counted_by_reason(data, linktype, reason):
    pkt, stats = _parse(data, linktype)
    assert pkt is None
    assert dict(stats.skipped) == {reason: 1}


def test_bad_ip_headers_and_unknown_transports():
    ip = bytearray(_ipv4_tcp())
    ip[0] = 0x44  # IHL 4 words < 20 bytes
    assert _parse(bytes(ip), 101)[1].skipped == {"bad_ip_header": 1}
    ip = bytearray(_ipv4_tcp())
    ip[9] = 47  # GRE
    assert _parse(bytes(ip), 101)[1].skipped == {"ip_proto_47": 1}
    ip = bytearray(_ipv4_tcp())
    ip[32] = 0x30  # TCP data offset 3 words < 20 bytes
    assert _parse(bytes(ip), 101)[1].skipped == {"bad_tcp_header": 1}


def test_headers_only_capture_keeps_the_wire_lengths():
    _, frame, wire, _ = udp_frame(1.0, A, B, 5000, 53, 900)
    pkt, _ = _parse(frame, 1, wirelen=wire)  # 42 bytes captured of 942 on the wire
    assert pkt is not None and pkt.proto == UDP
    assert (pkt.length, pkt.payload, pkt.hdr_len) == (928, 900, 28)


@pytest.mark.parametrize(
    "variant",
    [
        {"nanoseconds": True},
        {"byteorder": ">"},
        {"nanoseconds": True, "byteorder": ">"},
        {"linktype": 101},
    ],
)
def test_pcap_variants_read_the_same(tmp_path, variant):
    frames = [
        tcp_frame(1_700_000_000.123456, A, B, 40000, 80, SYN),
        udp_frame(1_700_000_001.5, B, A, 53, 40000, 64),
    ]
    if variant.get("linktype") == 101:
        frames = [(ts, data[14:], wire - 14, lbl) for ts, data, wire, lbl in frames]
    write_pcap(tmp_path / "base.pcap", [tcp_frame(1_700_000_000.123456, A, B, 40000, 80, SYN)])
    write_pcap(tmp_path / "v.pcap", frames, **variant)
    got = [
        (round(p.ts, 6), p.sport, p.dport, p.proto)
        for p in open_source(f"pcap:{tmp_path / 'v.pcap'}")
    ]
    assert got == [(1_700_000_000.123456, 40000, 80, TCP), (1_700_000_001.5, 53, 40000, UDP)]
