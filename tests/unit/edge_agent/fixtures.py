"""Small captures the tests make themselves (deterministic bytes)."""

from __future__ import annotations

import socket
import struct

from edge_agent.capture.frames import Frame, addr, icmp_frame, tcp_frame, udp_frame
from edge_agent.capture.packet import ACK, FIN, PSH, RST, SYN

T0 = 1_700_000_000.0
A, B, C = addr("192.168.1.10"), addr("192.168.1.20"), addr("10.0.0.5")


def vlan_udp(ts: float) -> Frame:
    """A UDP datagram behind an 802.1Q tag."""
    _, hdr, wire, label = udp_frame(ts, A, C, 5353, 5353, 20)
    tagged = hdr[:12] + b"\x81\x00\x00\x64" + hdr[12:]
    return ts, tagged, wire + 4, label


def ipv6_tcp(ts: float, flags: int, fwd: bool = True) -> Frame:
    s6 = socket.inet_pton(socket.AF_INET6, "2001:db8::1")
    d6 = socket.inet_pton(socket.AF_INET6, "2001:db8::2")
    src, dst, sp, dp = (s6, d6, 40000, 443) if fwd else (d6, s6, 443, 40000)
    tcp = struct.pack("!HHIIBBHHH", sp, dp, 0, 0, 0x50, flags, 1000, 0, 0)
    ip6 = struct.pack("!IHBB16s16s", 6 << 28, 20, 6, 64, src, dst)
    eth = bytes(6) + bytes(6) + b"\x86\xdd"
    return ts, eth + ip6 + tcp, 14 + 40 + 20, "benign"


def golden_frames() -> list[Frame]:
    f: list[Frame] = []
    # a full TCP session A -> C:443 with FIN on both sides (+ the last ACK, absorbed)
    f += [
        tcp_frame(T0, A, C, 50000, 443, SYN),
        tcp_frame(T0 + 0.01, C, A, 443, 50000, SYN | ACK),
        tcp_frame(T0 + 0.02, A, C, 50000, 443, ACK),
        tcp_frame(T0 + 0.03, A, C, 50000, 443, PSH | ACK, payload=300),
        tcp_frame(T0 + 0.05, C, A, 443, 50000, PSH | ACK, payload=1200),
        tcp_frame(T0 + 0.06, A, C, 50000, 443, FIN | ACK),
        tcp_frame(T0 + 0.07, C, A, 443, 50000, FIN | ACK),
        tcp_frame(T0 + 0.08, A, C, 50000, 443, ACK),
    ]
    # a refused connection: SYN then RST
    f += [
        tcp_frame(T0 + 1, A, B, 50001, 22, SYN),
        tcp_frame(T0 + 1.001, B, A, 22, 50001, RST | ACK),
    ]
    # DNS over UDP, an ICMP echo pair, a VLAN-tagged datagram, an IPv6 TCP exchange
    f += [udp_frame(T0 + 2, A, C, 53000, 53, 40), udp_frame(T0 + 2.02, C, A, 53, 53000, 120)]
    f += [icmp_frame(T0 + 3, A, B, 8), icmp_frame(T0 + 3.001, B, A, 0)]
    f += [vlan_udp(T0 + 4)]
    f += [
        ipv6_tcp(T0 + 5, SYN),
        ipv6_tcp(T0 + 5.01, SYN | ACK, fwd=False),
        ipv6_tcp(T0 + 5.02, RST),
    ]
    # an idle UDP flow that ends by timeout (last packet at T0+6, next packet 40 s later)
    f += [udp_frame(T0 + 6, B, C, 40000, 9999, 100), udp_frame(T0 + 46, A, C, 40001, 123, 48)]
    # malformed: truncated Ethernet, ARP, a truncated IPv4 header
    f += [
        (T0 + 47, b"\x00" * 10, 10, "benign"),
        (T0 + 47.1, bytes(12) + b"\x08\x06" + bytes(28), 42, "benign"),
        (T0 + 47.2, bytes(12) + b"\x08\x00" + b"\x45\x00", 16, "benign"),
    ]
    return f
