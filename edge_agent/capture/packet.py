"""Link-layer frames -> :class:`Packet` or :class:`ArpPacket`, with ``struct`` only (no scapy
on the hot path).

``parse_frame`` returns a :class:`Packet` for an IPv4/IPv6 TCP, UDP or ICMP packet, an
:class:`ArpPacket` for an Ethernet/IPv4 ARP request or reply (EtherType 0x0806 on Ethernet,
802.1Q/QinQ and Linux cooked captures), and ``None`` for anything else, counted by reason in
:class:`ParseStats`; nothing raises. Tell the two apart with ``isinstance(pkt, ArpPacket)``:
ARP has no ports, no protocol number and never belongs to a flow.
"""

from __future__ import annotations

import struct
from collections import Counter

# Link types (pcap LINKTYPE_* values)
LT_NULL, LT_ETHERNET, LT_RAW, LT_LOOP, LT_LINUX_SLL, LT_IPV4, LT_IPV6, LT_LINUX_SLL2 = (
    0,
    1,
    101,
    108,
    113,
    228,
    229,
    276,
)
LT_RAW_ALT = (12, 14)

TCP, UDP, ICMP, ICMP6 = 6, 17, 1, 58
FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80

_u16 = struct.Struct("!H").unpack_from
_ipv4 = struct.Struct("!BBHHHBBH4s4s").unpack_from
_ports = struct.Struct("!HH").unpack_from
_tcp = struct.Struct("!HHIIBBH").unpack_from
_IPV6_EXT = frozenset((0, 43, 60, 51))  # hop-by-hop, routing, destination options, AH


ETH_ARP = 0x0806
ARP_REQUEST, ARP_REPLY = 1, 2
_arp_head = struct.Struct("!HHBBH").unpack_from  # hardware/protocol type and size, op
_arp_addrs = struct.Struct("!6s4s6s4s").unpack_from  # the addresses of an Ethernet/IPv4 ARP
_NO_MAC = b""


class ParseStats:
    """Counters: frames parsed (``parsed``, IP and ARP; ``arp`` of them ARP) and frames
    skipped, by reason."""

    __slots__ = ("arp", "parsed", "skipped")

    def __init__(self) -> None:
        self.parsed = 0
        self.arp = 0
        self.skipped: Counter[str] = Counter()

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1

    def as_dict(self) -> dict[str, int]:
        return {
            "parsed": self.parsed,
            "parsed_arp": self.arp,
            **{f"skipped_{k}": v for k, v in self.skipped.items()},
        }


class Packet:
    """One parsed IP packet: addresses are packed bytes (4 or 16), ports 0 for ICMP.

    ``data`` is the captured frame (``b""`` from the simulator) and ``poff`` the offset of the
    transport payload in it (for ICMP, of the 8 bytes after type and code): the L7 metadata
    extractors read ``data[poff : poff + payload]`` without copying the frame."""

    __slots__ = (
        "data",
        "dport",
        "dst",
        "flags",
        "hdr_len",
        "label",
        "length",
        "payload",
        "poff",
        "proto",
        "sport",
        "src",
        "ts",
        "window",
    )

    def __init__(
        self,
        ts: float,
        src: bytes,
        dst: bytes,
        sport: int,
        dport: int,
        proto: int,
        length: int,
        hdr_len: int,
        payload: int,
        flags: int = 0,
        window: int = 0,
        label: str | None = None,
        data: bytes = b"",
        poff: int = 0,
    ) -> None:
        self.ts = ts
        self.src = src
        self.dst = dst
        self.sport = sport
        self.dport = dport
        self.proto = proto
        self.length = length  # IP length on the wire (network + transport + payload)
        self.hdr_len = hdr_len  # network + transport header bytes
        self.payload = payload  # transport payload bytes
        self.flags = flags  # TCP flags
        self.window = window  # TCP window
        self.label = label
        self.data = data  # the captured frame (a reference, never copied)
        self.poff = poff  # offset of the transport payload in data

    def __repr__(self) -> str:
        return f"Packet(ts={self.ts}, {self.src.hex()}:{self.sport} -> {self.dst.hex()}:{self.dport}, proto={self.proto})"


class ArpPacket:
    """One Ethernet/IPv4 ARP request (``op`` 1) or reply (``op`` 2).

    MACs and IPs are packed bytes (6 and 4). ``eth_src``/``eth_dst`` are the link-layer
    addresses of the frame (``b""`` when the capture does not carry them: a Linux cooked
    capture has no destination, except ``ff:ff:ff:ff:ff:ff`` for a frame it saw broadcast)."""

    __slots__ = (
        "eth_dst",
        "eth_src",
        "label",
        "op",
        "sender_ip",
        "sender_mac",
        "target_ip",
        "target_mac",
        "ts",
    )

    def __init__(
        self,
        ts: float,
        op: int,
        sender_mac: bytes,
        sender_ip: bytes,
        target_mac: bytes,
        target_ip: bytes,
        eth_src: bytes = _NO_MAC,
        eth_dst: bytes = _NO_MAC,
        label: str | None = None,
    ) -> None:
        self.ts = ts
        self.op = op
        self.sender_mac = sender_mac
        self.sender_ip = sender_ip
        self.target_mac = target_mac
        self.target_ip = target_ip
        self.eth_src = eth_src
        self.eth_dst = eth_dst
        self.label = label

    @property
    def gratuitous(self) -> bool:
        """An announcement of the sender's own address (sender IP == target IP)."""
        return self.sender_ip == self.target_ip

    def __repr__(self) -> str:
        kind = "request" if self.op == ARP_REQUEST else "reply"
        return (
            f"ArpPacket(ts={self.ts}, {kind}, {self.sender_mac.hex(':')} "
            f"{'.'.join(map(str, self.sender_ip))} -> {self.target_mac.hex(':')} "
            f"{'.'.join(map(str, self.target_ip))})"
        )


_BROADCAST = b"\xff" * 6


def _cooked_macs(data: bytes, pkttype: int, alen: int, addr_at: int) -> tuple[bytes, bytes]:
    """(eth_src, eth_dst) of a Linux cooked frame: the source when it is a MAC, the
    destination only when the kernel saw the frame broadcast (packet type 1)."""
    src = data[addr_at : addr_at + 6] if alen == 6 else _NO_MAC
    return src, _BROADCAST if pkttype == 1 else _NO_MAC


def _arp_packet(
    data: bytes, off: int, ts: float, eth_src: bytes, eth_dst: bytes, stats: ParseStats
) -> ArpPacket | None:
    if len(data) < off + 8:
        stats.skip("arp_truncated")
        return None
    htype, ptype, hlen, plen, op = _arp_head(data, off)
    if htype != 1 or ptype != 0x0800 or hlen != 6 or plen != 4:
        stats.skip("arp_bad_header")  # not Ethernet/IPv4 (or garbage)
        return None
    if op not in (ARP_REQUEST, ARP_REPLY):
        stats.skip("arp_bad_op")
        return None
    if len(data) < off + 28:
        stats.skip("arp_truncated")
        return None
    sha, spa, tha, tpa = _arp_addrs(data, off + 8)
    return ArpPacket(ts, op, sha, spa, tha, tpa, eth_src, eth_dst)


def parse_frame(
    data: bytes, linktype: int, ts: float, wirelen: int, stats: ParseStats, label: str | None = None
) -> Packet | ArpPacket | None:
    """Parse one captured frame; ``wirelen`` is the original length (frames may be truncated).

    Returns a :class:`Packet` (IP), an :class:`ArpPacket` (ARP) or ``None`` (skipped and
    counted in ``stats``); check ``isinstance(result, ArpPacket)`` before using IP fields."""
    try:
        if linktype == LT_ETHERNET:
            if len(data) < 14:
                stats.skip("truncated")
                return None
            etype = _u16(data, 12)[0]
            off = 14
            while etype in (0x8100, 0x88A8, 0x9100):  # 802.1Q / QinQ tags
                if len(data) < off + 4:
                    stats.skip("truncated")
                    return None
                etype = _u16(data, off + 2)[0]
                off += 4
            extra = off
        elif linktype in (LT_RAW, LT_IPV4, LT_IPV6, *LT_RAW_ALT):
            if not data:
                stats.skip("truncated")
                return None
            etype = 0x0800 if data[0] >> 4 == 4 else 0x86DD if data[0] >> 4 == 6 else 0
            off = extra = 0
        elif linktype == LT_LINUX_SLL:
            if len(data) < 16:
                stats.skip("truncated")
                return None
            etype, off = _u16(data, 14)[0], 16
            extra = off
        elif linktype == LT_LINUX_SLL2:
            if len(data) < 20:
                stats.skip("truncated")
                return None
            etype, off = _u16(data, 0)[0], 20
            extra = off
        elif linktype in (LT_NULL, LT_LOOP):
            if len(data) < 4:
                stats.skip("truncated")
                return None
            fam = data[0] or data[3]  # host byte order differs by capture machine
            etype = 0x0800 if fam == 2 else 0x86DD if fam in (10, 24, 28, 30) else 0
            off = extra = 4
        else:
            stats.skip(f"linktype_{linktype}")
            return None
        if etype == 0x0800:
            pkt = _ipv4_packet(data, off, ts, wirelen - extra, stats)
        elif etype == 0x86DD:
            pkt = _ipv6_packet(data, off, ts, wirelen - extra, stats)
        elif etype == ETH_ARP:
            if linktype == LT_ETHERNET:
                macs = data[6:12], data[0:6]
            elif linktype == LT_LINUX_SLL:
                macs = _cooked_macs(data, _u16(data, 0)[0], _u16(data, 4)[0], 6)
            elif linktype == LT_LINUX_SLL2:
                macs = _cooked_macs(data, data[10], data[11], 12)
            else:
                macs = _NO_MAC, _NO_MAC
            arp = _arp_packet(data, off, ts, macs[0], macs[1], stats)
            if arp is not None:
                arp.label = label
                stats.parsed += 1
                stats.arp += 1
            return arp
        else:
            stats.skip("non_ip")
            return None
    except (struct.error, IndexError):
        stats.skip("truncated")
        return None
    if pkt is not None:
        pkt.label = label
        stats.parsed += 1
    return pkt


def _ipv4_packet(
    data: bytes, off: int, ts: float, wire_ip: int, stats: ParseStats
) -> Packet | None:
    vihl, _tos, total, _id, frag, _ttl, proto, _sum, src, dst = _ipv4(data, off)
    if vihl >> 4 != 4:
        stats.skip("bad_ip_version")
        return None
    ihl = (vihl & 0x0F) * 4
    if ihl < 20 or total < ihl:
        stats.skip("bad_ip_header")
        return None
    if frag & 0x1FFF:  # not the first fragment: no transport header here
        stats.skip("ip_fragment")
        return None
    length = total if total <= wire_ip or wire_ip <= 0 else wire_ip
    return _transport(data, off + ihl, ts, src, dst, proto, length, ihl, total - ihl, stats)


def _ipv6_packet(
    data: bytes, off: int, ts: float, wire_ip: int, stats: ParseStats
) -> Packet | None:
    if len(data) < off + 40:
        stats.skip("truncated")
        return None
    plen = _u16(data, off + 4)[0]
    nxt = data[off + 6]
    src, dst = data[off + 8 : off + 24], data[off + 24 : off + 40]
    hdr, pos = 40, off + 40
    while nxt in _IPV6_EXT or nxt == 44:
        if nxt == 44:  # fragment header
            if _u16(data, pos + 2)[0] & 0xFFF8:
                stats.skip("ip_fragment")
                return None
            nxt, step = data[pos], 8
        else:
            nxt, step = data[pos], (data[pos + 1] + 1) * 8 if nxt != 51 else (data[pos + 1] + 2) * 4
        pos += step
        hdr += step
    return _transport(data, pos, ts, src, dst, nxt, 40 + plen, hdr, 40 + plen - hdr, stats)


def _transport(
    data: bytes,
    pos: int,
    ts: float,
    src: bytes,
    dst: bytes,
    proto: int,
    length: int,
    net_hdr: int,
    l4_len: int,
    stats: ParseStats,
) -> Packet | None:
    if proto == TCP:
        sport, dport, _seq, _ack, off_byte, flags, window = _tcp(data, pos)
        thl = (off_byte >> 4) * 4
        if thl < 20:
            stats.skip("bad_tcp_header")
            return None
        return Packet(
            ts,
            src,
            dst,
            sport,
            dport,
            TCP,
            length,
            net_hdr + thl,
            max(0, l4_len - thl),
            flags,
            window,
            None,
            data,
            pos + thl,
        )
    if proto == UDP:
        sport, dport = _ports(data, pos)
        return Packet(
            ts,
            src,
            dst,
            sport,
            dport,
            UDP,
            length,
            net_hdr + 8,
            max(0, l4_len - 8),
            0,
            0,
            None,
            data,
            pos + 8,
        )
    if proto in (ICMP, ICMP6):
        if len(data) < pos + 8:
            stats.skip("truncated")
            return None
        # ICMP has no ports: requests and replies between two hosts form one flow.
        return Packet(
            ts,
            src,
            dst,
            0,
            0,
            proto,
            length,
            net_hdr + 8,
            max(0, l4_len - 8),
            0,
            0,
            None,
            data,
            pos + 8,
        )
    stats.skip(f"ip_proto_{proto}")
    return None
