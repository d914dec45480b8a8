"""Building Ethernet/IPv4 and ARP frames with ``struct`` (for the simulator and test
fixtures), and writing them as a classic pcap file."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable
from pathlib import Path

from edge_agent.capture.packet import TCP, UDP

_MAC_A, _MAC_B = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")
_ETH = _MAC_A + _MAC_B + b"\x08\x00"
_ip = struct.Struct("!BBHHHBBH4s4s").pack
_tcp = struct.Struct("!HHIIBBHHH").pack
_udp = struct.Struct("!HHHH").pack

Frame = tuple[float, bytes, int, str]
"""(timestamp, captured bytes (headers only), wire length, label)."""


def addr(ip: str) -> bytes:
    return socket.inet_aton(ip)


def tcp_frame(
    ts: float,
    src: bytes,
    dst: bytes,
    sport: int,
    dport: int,
    flags: int,
    payload: int = 0,
    seq: int = 0,
    ack: int = 0,
    window: int = 64240,
    label: str = "benign",
    ttl: int = 64,
) -> Frame:
    total = 40 + payload
    hdr = (
        _ETH
        + _ip(0x45, 0, total, 0, 0x4000, ttl, TCP, 0, src, dst)
        + _tcp(sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 0x50, flags, window, 0, 0)
    )
    return ts, hdr, 14 + total, label


def udp_frame(
    ts: float,
    src: bytes,
    dst: bytes,
    sport: int,
    dport: int,
    payload: int,
    label: str = "benign",
    ttl: int = 64,
) -> Frame:
    total = 28 + payload
    hdr = (
        _ETH + _ip(0x45, 0, total, 0, 0, ttl, UDP, 0, src, dst) + _udp(sport, dport, 8 + payload, 0)
    )
    return ts, hdr, 14 + total, label


def icmp_frame(
    ts: float, src: bytes, dst: bytes, icmp_type: int, payload: int = 56, label: str = "benign"
) -> Frame:
    total = 28 + payload
    hdr = (
        _ETH
        + _ip(0x45, 0, total, 0, 0, 64, 1, 0, src, dst)
        + bytes((icmp_type, 0, 0, 0, 0, 1, 0, 1))
    )
    return ts, hdr, 14 + total, label


BROADCAST_MAC = b"\xff" * 6


def mac(text: str) -> bytes:
    """``"02:00:00:00:00:01"`` -> 6 packed bytes."""
    return bytes.fromhex(text.replace(":", "").replace("-", ""))


def arp_frame(
    ts: float,
    op: int,
    sender_mac: bytes,
    sender_ip: bytes,
    target_ip: bytes,
    target_mac: bytes = bytes(6),
    eth_dst: bytes | None = None,
    vlan: int | None = None,
    label: str = "benign",
) -> Frame:
    """An Ethernet ARP request (``op`` 1) or reply (``op`` 2), optionally 802.1Q-tagged;
    ``eth_dst`` defaults to broadcast for a request and to ``target_mac`` for a reply.
    The frame is padded to the 60-byte Ethernet minimum, as a NIC sends it."""
    dst = eth_dst if eth_dst is not None else BROADCAST_MAC if op == 1 else target_mac
    tag = struct.pack("!HH", 0x8100, vlan & 0x0FFF) if vlan is not None else b""
    body = struct.pack(
        "!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, sender_mac, sender_ip, target_mac, target_ip
    )
    data = dst + sender_mac + tag + b"\x08\x06" + body
    data += bytes(max(0, 60 - len(data)))
    return ts, data, len(data), label


def write_pcap(
    path: str | Path,
    frames: Iterable[Frame],
    snaplen: int = 262_144,
    linktype: int = 1,
    nanoseconds: bool = False,
    byteorder: str = "<",
) -> int:
    """Write frames as a classic pcap (default: little-endian, microseconds, Ethernet);
    returns the count. The other link types / resolutions / byte orders are for tests."""
    n = 0
    rec = struct.Struct(byteorder + "IIII").pack
    unit = 1_000_000_000 if nanoseconds else 1_000_000
    magic = 0xA1B23C4D if nanoseconds else 0xA1B2C3D4
    with Path(path).open("wb") as f:
        f.write(struct.pack(byteorder + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
        for ts, data, wirelen, _label in frames:
            total = round(ts * unit)
            f.write(rec(total // unit, total % unit, len(data), wirelen))
            f.write(data)
            n += 1
    return n
