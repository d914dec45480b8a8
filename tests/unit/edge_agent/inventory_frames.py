"""DHCP, mDNS and SSDP payloads built by hand, and Ethernet frames carrying them, for the
inventory tests."""

from __future__ import annotations

import socket
import struct

from edge_agent.capture.frames import Frame, addr, mac
from edge_agent.capture.packet import LT_ETHERNET, Packet, ParseStats, parse_frame

PI_MAC = mac("b8:27:eb:c7:e9:c9")  # Raspberry Pi Foundation's OUI
RANDOM_MAC = mac("a6:d1:8c:1f:ce:64")  # locally administered: no vendor
BROADCAST = b"\xff" * 6
MDNS_MAC = mac("01:00:5e:00:00:fb")
COOKIE = b"\x63\x82\x53\x63"
PRL = bytes((1, 121, 3, 6, 15, 119, 252))


def udp_packet(
    src_mac: bytes,
    src_ip: str,
    dst_ip: str,
    sport: int,
    dport: int,
    payload: bytes,
    dst_mac: bytes = BROADCAST,
    ts: float = 1000.0,
) -> Packet:
    """An Ethernet/IPv4/UDP frame carrying ``payload``, parsed as the sensor parses it."""
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 28 + len(payload), 0, 0, 64, 17, 0, addr(src_ip), addr(dst_ip)
    )
    data = (
        dst_mac
        + src_mac
        + b"\x08\x00"
        + ip
        + struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
    )
    data += payload
    pkt = parse_frame(data, LT_ETHERNET, ts, len(data), ParseStats())
    assert isinstance(pkt, Packet)
    return pkt


def frame_of(pkt: Packet) -> Frame:
    return pkt.ts, pkt.data, len(pkt.data), "benign"


def dhcp(
    op: int = 1,
    chaddr: bytes = PI_MAC,
    options: list[tuple[int, bytes]] | None = None,
    ciaddr: str = "0.0.0.0",
    yiaddr: str = "0.0.0.0",
) -> bytes:
    """A BOOTP message with the DHCP cookie and ``options`` (then END)."""
    fixed = struct.pack(
        "!BBBBIHH4s4s4s4s16s64s128s",
        op, 1, 6, 0, 0x1234, 0, 0x8000, addr(ciaddr), addr(yiaddr), bytes(4), bytes(4),
        chaddr + bytes(10), bytes(64), bytes(128),
    )  # fmt: skip
    opts = b"".join(bytes((c, len(v))) + v for c, v in options or [])
    return fixed + COOKIE + opts + b"\xff"


def dhcp_request(hostname: bytes = b"black-pearl", requested: str = "192.168.2.16") -> bytes:
    return dhcp(
        options=[
            (53, b"\x03"),
            (50, addr(requested)),
            (12, hostname),
            (60, b"dhcpcd-9.4.1:Linux-6.1"),
            (55, PRL),
        ]
    )


def dns_name(name: str) -> bytes:
    return b"".join(bytes((len(p),)) + p.encode() for p in name.split(".") if p) + b"\x00"


def rr(name: str, typ: int, rdata: bytes, cls: int = 0x8001) -> bytes:
    return dns_name(name) + struct.pack("!HHIH", typ, cls, 120, len(rdata)) + rdata


def mdns(
    answers: list[bytes],
    questions: tuple[str, ...] = (),
    response: bool = True,
    authority: tuple[bytes, ...] = (),
) -> bytes:
    """An mDNS message: questions (type ANY), then authority records, then answers."""
    flags = 0x8400 if response else 0
    head = struct.pack("!HHHHHH", 0, flags, len(questions), len(answers), len(authority), 0)
    qs = b"".join(dns_name(q) + struct.pack("!HH", 255, 1) for q in questions)
    return head + qs + b"".join(answers) + b"".join(authority)


def mdns_announcement(host: str = "black-pearl.local", ip: str = "192.168.2.16") -> bytes:
    instance = "black-pearl [b8:27:eb:c7:e9:c9]._workstation._tcp.local"
    srv = struct.pack("!HHH", 0, 0, 9) + dns_name(host)
    return mdns(
        [
            rr("_workstation._tcp.local", 12, dns_name(instance), cls=1),
            rr(instance, 33, srv),
            rr(host, 1, socket.inet_aton(ip)),
            rr("_services._dns-sd._udp.local", 12, dns_name("_workstation._tcp.local"), cls=1),
        ]
    )


SSDP_NOTIFY = (
    b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\n"
    b"LOCATION: http://192.168.1.1:5000/rootDesc.xml\r\nNT: upnp:rootdevice\r\nNTS: ssdp:alive\r\n"
    b"SERVER: Linux/5.4 UPnP/1.1 MiniUPnPd/2.2.1\r\n"
    b"USN: uuid:8a1c2e5b-0000-1000-8000-001c7f53d028::upnp:rootdevice\r\n\r\n"
)
SSDP_SEARCH = (
    b'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\n'
    b"MX: 2\r\nST: ssdp:all\r\nUSER-AGENT: Chromium/120 Linux\r\n\r\n"
)
