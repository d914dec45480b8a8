"""The ARP monitor: scans, binding conflicts, floods, quiet on normal LAN chatter, bounded
memory, suppression, and the pipeline handing it ARP packets."""

from __future__ import annotations

import itertools

import pytest

from contracts import decode, encode
from contracts.events import AnomalyEvent, FlowRecord
from contracts.features import FEATURE_INDEX
from edge_agent.capture import ArpPacket, ParseStats, parse_frame
from edge_agent.capture.frames import BROADCAST_MAC, addr, arp_frame, mac, udp_frame
from edge_agent.capture.packet import LT_ETHERNET
from edge_agent.detectors.arp import ArpConfig, ArpMonitor
from edge_agent.pipeline import Pipeline

GW, GW_MAC = addr("192.168.5.1"), mac("02:00:00:00:00:01")
T0 = 1_700_000_000.0


def host(i: int) -> tuple[bytes, bytes]:
    """The IP and MAC of LAN host ``i``."""
    return addr(f"192.168.5.{i}"), mac(f"02:00:00:00:01:{i:02x}")


def arp(frame: tuple) -> ArpPacket:
    ts, data, wire, label = frame
    pkt = parse_frame(data, LT_ETHERNET, ts, wire, ParseStats(), label)
    assert isinstance(pkt, ArpPacket)
    return pkt


def request(ts: float, sender: int, target_ip: bytes, eth_dst: bytes | None = None) -> ArpPacket:
    ip, m = host(sender) if sender else (GW, GW_MAC)
    return arp(arp_frame(ts, 1, m, ip, target_ip, eth_dst=eth_dst))


def reply(ts: float, sender_mac: bytes, sender_ip: bytes, to: int) -> ArpPacket:
    ip, m = host(to) if to else (GW, GW_MAC)
    return arp(arp_frame(ts, 2, sender_mac, sender_ip, ip, target_mac=m))


def garp(ts: float, sender_mac: bytes, ip: bytes, op: int = 1) -> ArpPacket:
    return arp(arp_frame(ts, op, sender_mac, ip, ip, eth_dst=BROADCAST_MAC))


def run(monitor: ArpMonitor, pkts: list[ArpPacket], tick_every: float = 1.0) -> list[AnomalyEvent]:
    out: list[AnomalyEvent] = []
    next_tick = 0.0
    for p in pkts:
        out += monitor.on_arp(p)
        if p.ts >= next_tick:
            out += monitor.on_tick(p.ts)
            next_tick = p.ts + tick_every
    return out


def normal_lan(start: float, minutes: int = 30) -> list[ArpPacket]:
    """20 hosts for ``minutes``: each asks for the gateway and a peer now and then, the gateway
    answers and refreshes its cache with unicast requests, hosts announce themselves at a DHCP
    renew, a new host probes and announces its address."""
    pkts: list[ArpPacket] = []
    for minute in range(minutes):
        t = start + minute * 60
        for i in range(10, 30):
            ip, m = host(i)
            off = t + (i - 10) * 2.5
            if (minute + i) % 3 == 0:
                pkts += [request(off, i, GW), reply(off + 0.001, GW_MAC, GW, i)]
            if (minute + i) % 7 == 0:  # a peer
                peer_ip, peer_mac = host(10 + (i + 3) % 20)
                pkts += [request(off + 0.5, i, peer_ip), reply(off + 0.501, peer_mac, peer_ip, i)]
            if (minute + i) % 4 == 0:  # the gateway refreshes a cache entry by unicast
                pkts += [request(off + 1.0, 0, ip, eth_dst=m), reply(off + 1.001, m, ip, 0)]
        if minute % 10 == 5:  # DHCP renew: the renewing host announces itself (two GARPs)
            ip, m = host(10 + minute % 20)
            pkts += [garp(t + 55, m, ip), garp(t + 56, m, ip, op=2)]
    # a host joins: RFC 5227 probes from 0.0.0.0, then two announcements
    new_ip, new_mac = host(40)
    for k in range(3):
        pkts.append(arp(arp_frame(start + 100 + k, 1, new_mac, bytes(4), new_ip)))
    pkts += [garp(start + 104, new_mac, new_ip), garp(start + 106, new_mac, new_ip)]
    return sorted(pkts, key=lambda p: p.ts)


def test_an_arp_scan_of_100_ips_gives_one_event_naming_the_scanner():
    # prepare: the LAN as usual, and host 77 sweeps 192.168.5.100-199 at 10 ms per address
    _, scanner_mac = host(77)
    sweep = [request(T0 + 300 + k * 0.01, 77, addr(f"192.168.5.{100 + k}")) for k in range(100)]
    answers = [
        reply(T0 + 300 + k * 0.01 + 0.002, host(100 + k)[1], addr(f"192.168.5.{100 + k}"), 77)
        for k in range(0, 100, 9)
    ]
    pkts = sorted(normal_lan(T0, 10) + sweep + answers, key=lambda p: p.ts)
    # execute
    events = run(ArpMonitor("n1"), pkts)
    # assert
    assert [e.rule_id for e in events] == ["arp_scan"]
    ev = events[0]
    assert ev.src_ip == "192.168.5.77" and ev.family == "scan" and ev.detector == "rules"
    assert ev.evidence["sender_mac"] == scanner_mac.hex(":")
    assert ev.evidence["distinct_targets"] == ArpConfig().scan_min_targets
    assert T0 + 300 <= ev.window_start < ev.window_end <= T0 + 301  # capture time
    assert decode(encode(ev)) == ev


def test_a_gateway_refreshing_60_known_clients_by_unicast_is_not_a_scan():
    # prepare: 60 clients announce themselves, then the gateway re-validates every one of them
    # within 30 s by unicast requests to their known MACs (RFC 1122), as a router does
    pkts = []
    for i in range(60):
        ip, m = host(100 + i)
        pkts.append(request(T0 + i * 0.1, 100 + i, GW))
        pkts.append(request(T0 + 10 + i * 0.5, 0, ip, eth_dst=m))
    broadcast = [request(T0 + 100 + i * 0.5, 0, host(100 + i)[0]) for i in range(60)]
    # execute
    quiet = run(ArpMonitor("n1"), sorted(pkts, key=lambda p: p.ts))
    loud = run(ArpMonitor("n1"), sorted(pkts + broadcast, key=lambda p: p.ts))
    # assert: the same 60 questions broadcast are a sweep by the gateway
    assert quiet == []
    assert [(e.rule_id, e.src_ip) for e in loud] == [("arp_scan", "192.168.5.1")]


def test_a_long_scan_is_folded_into_one_event_per_suppression_window():
    # prepare: a slow sweep, one address every 2 s for 20 minutes (600 distinct targets)
    cfg = ArpConfig()
    sweep = [request(T0 + k * 2.0, 77, addr(f"10.{k // 250}.{k % 250}.1")) for k in range(600)]
    # execute
    events = run(ArpMonitor("n1", cfg), sweep)
    # assert: the first after 24 targets (46 s), then one per 300 s with the hits it folded
    assert [e.rule_id for e in events] == ["arp_scan"] * 4
    assert events[0].evidence["suppressed_hits"] == 0
    assert all(e.evidence["suppressed_hits"] > 100 for e in events[1:])
    gaps = [b.window_end - a.window_end for a, b in itertools.pairwise(events)]
    assert all(g >= cfg.suppress_s for g in gaps)


def test_a_mac_change_while_the_owner_is_active_is_arp_spoof():
    # prepare: the gateway is known; the attacker (host 66) poisons host 12 with forged
    # replies "192.168.5.1 is-at <attacker>" every 2 s for a minute
    _, attacker_mac = host(66)
    pkts = normal_lan(T0, 5)
    pkts.append(request(T0 + 299, 66, GW))  # the attacker's own traffic binds its IP
    pkts += [reply(T0 + 300 + k * 2, attacker_mac, GW, 12) for k in range(30)]
    pkts += [reply(T0 + 301 + k * 10, GW_MAC, GW, 13) for k in range(6)]  # the real gateway
    pkts.sort(key=lambda p: p.ts)
    # execute
    events = run(ArpMonitor("n1"), pkts)
    # assert: one event for the gateway's IP (the flip-flops are suppressed)
    assert [e.rule_id for e in events] == ["arp_spoof"]
    ev = events[0]
    assert ev.src_ip == "192.168.5.1" and ev.dst_ip == "192.168.5.12" and ev.family == "other"
    assert ev.severity == "high"
    assert ev.evidence["old_mac"] == GW_MAC.hex(":")
    assert ev.evidence["new_mac"] == attacker_mac.hex(":")
    assert ev.evidence["new_mac_ip"] == "192.168.5.66"
    assert ev.window_end == T0 + 300


def test_a_gratuitous_reply_claiming_another_hosts_ip_is_arp_spoof():
    # prepare
    victim_ip, victim_mac = host(20)
    _, attacker_mac = host(66)
    pkts = [request(T0, 20, GW), reply(T0 + 0.001, GW_MAC, GW, 20)]
    pkts.append(garp(T0 + 30, attacker_mac, victim_ip, op=2))
    # execute
    events = run(ArpMonitor("n1"), pkts)
    # assert
    assert len(events) == 1 and events[0].rule_id == "arp_spoof"
    ev = events[0]
    assert ev.src_ip == "192.168.5.20" and ev.dst_ip is None and ev.evidence["gratuitous"] is True
    assert (ev.evidence["old_mac"], ev.evidence["new_mac"]) == (
        victim_mac.hex(":"),
        attacker_mac.hex(":"),
    )


def test_one_attacker_poisoning_a_whole_subnet_gives_one_event():
    # prepare: 30 hosts are known; one MAC then claims every one of their IPs, over and over
    _, attacker_mac = host(66)
    pkts = [request(T0 + i * 0.1, i, GW) for i in range(100, 130)]
    pkts += [
        reply(T0 + 10 + r * 2 + i * 0.01, attacker_mac, host(i)[0], 0)
        for r in range(20)
        for i in range(100, 130)
    ]
    # execute
    events = run(ArpMonitor("n1"), pkts)
    # assert: 600 forged replies on 30 IPs, one event about the attacker's MAC
    assert [e.rule_id for e in events] == ["arp_spoof"]
    assert events[0].evidence["new_mac"] == attacker_mac.hex(":")


def test_one_mac_answering_for_many_ips_is_arp_spoof():
    # prepare: one MAC replies for 30 different addresses within a minute
    _, m = host(66)
    pkts = [reply(T0 + k, m, addr(f"192.168.9.{k + 1}"), 12) for k in range(30)]
    # execute
    events = run(ArpMonitor("n1"), pkts)
    # assert
    assert [e.rule_id for e in events] == ["arp_spoof"]
    assert events[0].evidence["claimed_ips"] == ArpConfig().many_ips_min
    assert events[0].evidence["new_mac"] == m.hex(":")


def test_normal_lan_traffic_and_a_dhcp_renew_raise_nothing():
    # prepare
    pkts = normal_lan(T0, 30)
    # execute
    monitor = ArpMonitor("n1")
    events = run(monitor, pkts)
    # assert
    assert len(pkts) > 800 and events == []
    assert monitor.stats()["arp_bindings"] >= 21


def test_an_address_re_leased_to_a_new_device_after_its_owner_left_is_not_spoof():
    # prepare: host 15 is seen, goes away for an hour, its IP is leased to a new MAC
    ip, old_mac = host(15)
    new_mac = mac("02:00:00:00:02:15")
    pkts = [request(T0, 15, GW), garp(T0 + 3600, new_mac, ip), request(T0 + 3601, 0, ip)]
    pkts.append(arp(arp_frame(T0 + 3601.001, 2, new_mac, ip, GW, GW_MAC)))
    # execute
    events = run(ArpMonitor("n1"), pkts)
    # assert
    assert events == [] and old_mac != new_mac


def test_a_gratuitous_arp_flood_from_one_mac_is_arp_flood():
    # prepare: 2,000 gratuitous ARPs in 4 s from one MAC, then quiet
    ip, m = host(30)
    pkts = [garp(T0 + k * 0.002, m, ip) for k in range(2000)]
    # execute
    events = run(ArpMonitor("n1"), pkts)
    # assert
    assert [e.rule_id for e in events] == ["arp_flood"]
    ev = events[0]
    assert ev.family == "dos" and ev.src_ip == "192.168.5.30"
    assert ev.evidence["gratuitous"] == ArpConfig().flood_min_gratuitous
    assert ev.evidence["sender_mac"] == m.hex(":")


def test_a_reply_flood_from_random_macs_is_one_segment_wide_arp_flood():
    # prepare: 5,000 replies in 2.5 s, each from a new random MAC and IP
    pkts = [
        reply(
            T0 + k * 0.0005,
            bytes((2, 0xAA, k >> 16 & 255, k >> 8 & 255, k & 255, 1)),
            addr(f"10.{k >> 16 & 255}.{k >> 8 & 255}.{k & 255}"),
            12,
        )
        for k in range(5000)
    ]
    # execute
    events = run(ArpMonitor("n1"), pkts)
    # assert
    assert [e.rule_id for e in events] == ["arp_flood"]
    assert events[0].src_ip is None and events[0].dst_ip == "192.168.5.12"  # the victim
    assert events[0].evidence["distinct_macs"] >= 1000


def test_every_table_stays_within_its_cap():
    # prepare: 30,000 frames from distinct MACs and IPs, tiny caps
    cfg = ArpConfig(max_hosts=64, max_bindings=128, max_suppressed=16)
    pkts = [
        request(T0 + k * 0.01, 0, addr(f"10.1.{k >> 8 & 255}.{k & 255}")) for k in range(10_000)
    ]
    pkts += [
        reply(
            T0 + 100 + k * 0.01,
            bytes((2, 0xBB, 0, k >> 8 & 255, k & 255, 1)),
            addr(f"10.2.{k >> 8 & 255}.{k & 255}"),
            12,
        )
        for k in range(20_000)
    ]
    monitor = ArpMonitor("n1", cfg)
    # execute
    run(monitor, pkts)
    # assert
    assert len(monitor.hosts) <= cfg.max_hosts and len(monitor.bindings) <= cfg.max_bindings
    assert len(monitor._last_emit) <= cfg.max_suppressed
    assert len(monitor._suppressed) <= 2 * cfg.max_suppressed
    assert all(len(h.targets) <= 4 * cfg.scan_min_targets for h in monitor.hosts.values())
    assert all(len(h.claimed) <= 4 * cfg.many_ips_min for h in monitor.hosts.values())


def test_tick_drops_state_that_can_no_longer_matter():
    # prepare
    monitor = ArpMonitor("n1")
    run(monitor, normal_lan(T0, 2))
    assert monitor.hosts and monitor.bindings
    # execute
    monitor.on_tick(T0 + 10_000)
    # assert
    assert not monitor.hosts and not monitor.bindings


def test_bad_configs_are_refused():
    with pytest.raises(ValueError, match="scan_min_targets"):
        ArpConfig(scan_min_targets=1)
    with pytest.raises(ValueError, match="flood_window_s"):
        ArpConfig(flood_window_s=0)


def test_the_pipeline_hands_arp_to_the_monitor_and_counts_it():
    # prepare: a UDP exchange with an ARP sweep in the middle
    a, b = addr("192.168.5.10"), addr("192.168.5.11")
    frames = [udp_frame(T0 + k, a, b, 5000, 53, 30) for k in range(3)]
    frames += [
        arp_frame(T0 + 1 + k * 0.01, 1, host(77)[1], host(77)[0], addr(f"192.168.5.{100 + k}"))
        for k in range(40)
    ]
    frames.sort(key=lambda f: f[0])
    stats = ParseStats()
    pipe = Pipeline("n1", parse_stats=stats)
    # execute
    events = []
    for ts, data, wire, label in frames:
        pkt = parse_frame(data, LT_ETHERNET, ts, wire, stats, label)
        assert pkt is not None
        events += pipe.feed(pkt)
    events += pipe.close()
    # assert
    anomalies = [e for e in events if isinstance(e, AnomalyEvent)]
    flows = [e for e in events if isinstance(e, FlowRecord)]
    assert [e.rule_id for e in anomalies] == ["arp_scan"] and anomalies[0].src_ip == "192.168.5.77"
    assert len(flows) == 1 and flows[0].features[FEATURE_INDEX["fwd_packets"]] == 3  # whole
    c = pipe.counters()
    assert c["packets"] == 43 and c["arp_packets"] == 40 and c["flows"] == 1
    assert c["anomalies"] == 1 and pipe.by_detector["rules"] == 1


def test_the_pipeline_takes_a_configured_monitor():
    # prepare
    monitor = ArpMonitor("n1", ArpConfig(scan_min_targets=3))
    pipe = Pipeline("n1", arp=monitor)
    # execute
    out = [
        e for k in range(3) for e in pipe.feed(request(T0 + k, 50, addr(f"192.168.5.{200 + k}")))
    ]
    # assert
    assert pipe.arp is monitor and [e.rule_id for e in out] == ["arp_scan"]
