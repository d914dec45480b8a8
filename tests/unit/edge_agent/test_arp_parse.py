"""ARP frames -> :class:`ArpPacket`: golden parses per link type, malformed ARP counted by reason,
random bytes never raise, and ARP reaches the pipeline from a pcap but never the flow table.

Regenerate the golden file after an intended change with FEDNIDS_UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import json
import os
import random
import struct
from pathlib import Path

import pytest

from contracts.events import FlowRecord
from edge_agent.capture import ArpPacket, Packet, ParseStats, open_source, parse_frame, write_pcap
from edge_agent.capture.frames import BROADCAST_MAC, addr, arp_frame, mac, udp_frame
from edge_agent.capture.packet import LT_ETHERNET, LT_LINUX_SLL, LT_LINUX_SLL2
from edge_agent.pipeline import Pipeline

GOLDEN = Path(__file__).resolve().parents[2] / "fixtures" / "arp" / "golden_arp.json"

HOST_MAC, GW_MAC = mac("02:00:00:00:00:0a"), mac("02:00:00:00:00:01")
HOST, GW = addr("192.168.7.10"), addr("192.168.7.1")


def _arp_body(op: int, sha: bytes, spa: bytes, tha: bytes, tpa: bytes, hlen: int = 6) -> bytes:
    return struct.pack("!HHBBH", 1, 0x0800, hlen, 4, op) + sha + spa + tha + tpa


def _sll(body: bytes, pkttype: int, src: bytes) -> bytes:
    return struct.pack("!HHH8sH", pkttype, 1, 6, src + bytes(2), 0x0806) + body


def _sll2(body: bytes, pkttype: int, src: bytes) -> bytes:
    return struct.pack("!HHIHBB8s", 0x0806, 0, 2, 1, pkttype, 6, src + bytes(2)) + body


def golden_cases() -> list[tuple[str, int, bytes]]:
    """(name, linktype, frame) for every ARP form the parser reads."""
    req = arp_frame(1.0, 1, HOST_MAC, HOST, GW)[1]
    reply = arp_frame(1.1, 2, GW_MAC, GW, HOST, target_mac=HOST_MAC)[1]
    garp_req = arp_frame(1.2, 1, HOST_MAC, HOST, HOST)[1]
    garp_reply = arp_frame(1.3, 2, HOST_MAC, HOST, HOST, BROADCAST_MAC, eth_dst=BROADCAST_MAC)[1]
    probe = arp_frame(1.4, 1, HOST_MAC, bytes(4), HOST)[1]  # RFC 5227 probe from 0.0.0.0
    vlan = arp_frame(1.5, 1, HOST_MAC, HOST, GW, vlan=42)[1]
    qinq = struct.pack("!HH", 0x88A8, 7)  # an outer tag in front of the 802.1Q one
    qinq_frame = vlan[:12] + qinq + vlan[12:]
    body = _arp_body(1, HOST_MAC, HOST, bytes(6), GW)
    return [
        ("request", LT_ETHERNET, req),
        ("reply", LT_ETHERNET, reply),
        ("gratuitous_request", LT_ETHERNET, garp_req),
        ("gratuitous_reply", LT_ETHERNET, garp_reply),
        ("probe", LT_ETHERNET, probe),
        ("vlan_request", LT_ETHERNET, vlan),
        ("qinq_request", LT_ETHERNET, qinq_frame),
        ("sll_broadcast_request", LT_LINUX_SLL, _sll(body, 1, HOST_MAC)),
        (
            "sll_outgoing_reply",
            LT_LINUX_SLL,
            _sll(_arp_body(2, GW_MAC, GW, HOST_MAC, HOST), 4, GW_MAC),
        ),
        ("sll2_broadcast_request", LT_LINUX_SLL2, _sll2(body, 1, HOST_MAC)),
    ]


def _row(pkt: ArpPacket) -> dict[str, object]:
    return {
        "op": pkt.op,
        "sender_mac": pkt.sender_mac.hex(":"),
        "sender_ip": ".".join(map(str, pkt.sender_ip)),
        "target_mac": pkt.target_mac.hex(":"),
        "target_ip": ".".join(map(str, pkt.target_ip)),
        "eth_src": pkt.eth_src.hex(":"),
        "eth_dst": pkt.eth_dst.hex(":"),
        "gratuitous": pkt.gratuitous,
    }


def test_golden_arp_parses(tmp_path):
    # prepare
    cases = golden_cases()
    stats = ParseStats()
    # execute
    got = {}
    for name, linktype, data in cases:
        pkt = parse_frame(data, linktype, 5.0, len(data), stats, "benign")
        assert isinstance(pkt, ArpPacket), name
        assert pkt.ts == 5.0 and pkt.label == "benign"
        got[name] = _row(pkt)
    # assert
    if os.environ.get("FEDNIDS_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        pytest.skip("golden file regenerated")
    assert got == json.loads(GOLDEN.read_text())
    assert stats.parsed == stats.arp == len(cases) and not stats.skipped


def test_arp_fields_are_read_from_the_right_offsets():
    # prepare
    stats = ParseStats()
    _ts, data, wire, _ = arp_frame(2.0, 2, GW_MAC, GW, HOST, target_mac=HOST_MAC, vlan=5)
    # execute
    pkt = parse_frame(data, LT_ETHERNET, 2.0, wire, stats)
    sll = parse_frame(
        _sll(_arp_body(1, HOST_MAC, HOST, bytes(6), GW), 0, HOST_MAC), 113, 2.0, 44, stats
    )
    # assert
    assert isinstance(pkt, ArpPacket)
    assert (pkt.op, pkt.sender_mac, pkt.sender_ip) == (2, GW_MAC, GW)
    assert (pkt.target_mac, pkt.target_ip) == (HOST_MAC, HOST)
    assert (pkt.eth_src, pkt.eth_dst) == (GW_MAC, HOST_MAC) and not pkt.gratuitous
    assert isinstance(sll, ArpPacket) and sll.eth_src == HOST_MAC
    assert sll.eth_dst == b""  # a cooked capture of a frame to us carries no destination
    assert "reply" in repr(pkt) and "192.168.7.1" in repr(pkt)


def _eth(body: bytes) -> bytes:
    return BROADCAST_MAC + HOST_MAC + b"\x08\x06" + body


@pytest.mark.parametrize(
    ("data", "linktype", "reason"),
    [
        (_eth(b""), LT_ETHERNET, "arp_truncated"),
        (_eth(b"\x00\x01\x08\x00\x06"), LT_ETHERNET, "arp_truncated"),  # header cut short
        (_eth(_arp_body(1, HOST_MAC, HOST, bytes(6), GW)[:20]), LT_ETHERNET, "arp_truncated"),
        (_eth(_arp_body(1, HOST_MAC, HOST, bytes(6), GW)[:27]), LT_ETHERNET, "arp_truncated"),
        (_eth(bytes(28)), LT_ETHERNET, "arp_bad_header"),  # hardware type 0
        (
            _eth(struct.pack("!HHBBH", 6, 0x0800, 6, 4, 1) + bytes(20)),
            LT_ETHERNET,
            "arp_bad_header",
        ),
        (
            _eth(struct.pack("!HHBBH", 1, 0x86DD, 6, 16, 1) + bytes(44)),
            LT_ETHERNET,
            "arp_bad_header",
        ),
        (
            _eth(struct.pack("!HHBBH", 1, 0x0800, 8, 4, 1) + bytes(24)),
            LT_ETHERNET,
            "arp_bad_header",
        ),
        (
            _eth(struct.pack("!HHBBH", 1, 0x0800, 6, 6, 1) + bytes(24)),
            LT_ETHERNET,
            "arp_bad_header",
        ),
        (_eth(struct.pack("!HHBBH", 1, 0x0800, 6, 4, 3) + bytes(20)), LT_ETHERNET, "arp_bad_op"),
        (_eth(struct.pack("!HHBBH", 1, 0x0800, 6, 4, 0) + bytes(20)), LT_ETHERNET, "arp_bad_op"),
        (_sll(b"\x00\x01", 1, HOST_MAC), LT_LINUX_SLL, "arp_truncated"),
        (_sll2(bytes(28), 1, HOST_MAC), LT_LINUX_SLL2, "arp_bad_header"),
        (BROADCAST_MAC + HOST_MAC + b"\x81\x00\x00\x05\x08\x06", LT_ETHERNET, "arp_truncated"),
    ],
)
def test_malformed_arp_is_counted_by_reason_not_raised(data, linktype, reason):
    # prepare
    stats = ParseStats()
    # execute
    pkt = parse_frame(data, linktype, 1.0, len(data), stats)
    # assert
    assert pkt is None
    assert dict(stats.skipped) == {reason: 1}
    assert stats.parsed == stats.arp == 0


def test_random_bytes_never_raise_and_every_frame_is_accounted_for():
    # prepare: random ARP-ish bodies behind every link header that can carry ARP, and noise
    rng = random.Random(1306)
    heads = [
        (LT_ETHERNET, lambda: BROADCAST_MAC + HOST_MAC + b"\x08\x06"),
        (LT_ETHERNET, lambda: BROADCAST_MAC + HOST_MAC + b"\x81\x00\x00\x07\x08\x06"),
        (
            LT_LINUX_SLL,
            lambda: struct.pack("!HHH8sH", rng.randrange(6), 1, rng.randrange(9), bytes(8), 0x0806),
        ),
        (
            LT_LINUX_SLL2,
            lambda: struct.pack(
                "!HHIHBB8s", 0x0806, 0, 1, 1, rng.randrange(6), rng.randrange(9), bytes(8)
            ),
        ),
    ]
    valid_head = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1)
    frames = []
    for i in range(6000):
        lt, head = heads[i % len(heads)]
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(40)))
        if i % 3 == 0:  # a plausible header, random (possibly short) addresses
            body = valid_head + body
        frames.append(
            (
                lt,
                head() + body
                if i % 5
                else bytes(rng.randrange(256) for _ in range(rng.randrange(64))),
            )
        )
    stats = ParseStats()
    # execute
    results = [parse_frame(data, lt, 1.0, len(data), stats) for lt, data in frames]
    # assert
    assert stats.parsed + sum(stats.skipped.values()) == len(frames)
    arps = [r for r in results if isinstance(r, ArpPacket)]
    assert len(arps) == stats.arp > 0  # the plausible ones with 28 bytes parse
    assert all(len(a.sender_mac) == 6 and len(a.target_ip) == 4 and a.op in (1, 2) for a in arps)
    assert stats.skipped["arp_truncated"] > 0 and stats.skipped["arp_bad_header"] > 0


def test_pcap_source_yields_arp_with_labels_and_the_flow_table_never_sees_it(tmp_path):
    # prepare: the same IP traffic with and without ARP in between
    a, b = addr("10.9.0.1"), addr("10.9.0.2")
    ip_frames = [udp_frame(10.0 + i, a, b, 5000, 53, 30) for i in range(5)]
    arp_frames = [arp_frame(10.5 + i, 1, HOST_MAC, a, b, label="arp_test") for i in range(5)]
    mixed = sorted(ip_frames + arp_frames, key=lambda f: f[0])
    write_pcap(tmp_path / "ip.pcap", ip_frames)
    write_pcap(tmp_path / "mixed.pcap", mixed)
    (tmp_path / "l.csv").write_text(
        "index,label,attack\n"
        + "".join(f"{i},{int(f[3] != 'benign')},{f[3]}\n" for i, f in enumerate(mixed))
    )

    def run(spec: str) -> tuple[list[Packet | ArpPacket], list[FlowRecord], Pipeline, ParseStats]:
        src = open_source(spec)
        pipe = Pipeline("arp-1", parse_stats=src.stats)
        pkts = list(src)
        events = [e for p in pkts for e in pipe.feed(p)] + pipe.close()
        return pkts, [e for e in events if isinstance(e, FlowRecord)], pipe, src.stats

    # execute
    _p, ip_flows, _pipe, _s = run(f"pcap:{tmp_path / 'ip.pcap'}")
    pkts, mixed_flows, pipe, stats = run(
        f"pcap:{tmp_path / 'mixed.pcap'}?labels={tmp_path / 'l.csv'}"
    )
    # assert
    arps = [p for p in pkts if isinstance(p, ArpPacket)]
    assert len(arps) == 5 and all(p.label == "arp_test" for p in arps)
    assert stats.as_dict() == {"parsed": 10, "parsed_arp": 5}
    c = pipe.counters()
    assert c["packets"] == 10 and c["arp_packets"] == 5
    strip = lambda fs: [(f.src_ip, f.dst_ip, f.dst_port, f.features) for f in fs]  # noqa: E731
    assert strip(mixed_flows) == strip(ip_flows) and len(ip_flows) == 1
