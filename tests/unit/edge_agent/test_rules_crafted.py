"""Rules on small hand-made captures: flag scans, RDP brute force, a reflector, evidence."""

from __future__ import annotations

from edge_agent.capture import open_source, write_pcap
from edge_agent.capture.frames import addr, tcp_frame, udp_frame
from edge_agent.capture.packet import ACK, FIN, PSH, RST, SYN, URG
from edge_agent.pipeline import Pipeline
from edge_agent.rules import RuleEngine

SCANNER, TARGET = addr("203.0.113.9"), addr("10.0.0.20")


def _anomalies(tmp_path, frames) -> tuple[RuleEngine, list]:
    write_pcap(tmp_path / "c.pcap", frames)
    engine = RuleEngine()
    pipe = Pipeline("pi-1", [engine])
    events = [e for p in open_source(f"pcap:{tmp_path / 'c.pcap'}") for e in pipe.feed(p)]
    events += pipe.close()
    return engine, [e for e in events if e.kind == "anomaly"]


def _probe(flags: int) -> list:
    frames = []
    for i, port in enumerate(range(1, 41)):
        t = 100.0 + i * 0.05
        frames.append(tcp_frame(t, SCANNER, TARGET, 45000, port, flags, window=1024))
        frames.append(tcp_frame(t + 0.001, TARGET, SCANNER, port, 45000, RST | ACK))
    return frames


def test_null_scan(tmp_path):
    engine, anomalies = _anomalies(tmp_path, _probe(0))
    assert "tcp_null_scan" in {a.rule_id for a in anomalies}
    assert "port_scan_vertical" in {a.rule_id for a in anomalies}
    assert engine.hits["tcp_fin_xmas_scan"] == 0


def test_fin_and_xmas_scans(tmp_path):
    for flags in (FIN, FIN | PSH | URG):
        engine, anomalies = _anomalies(tmp_path, _probe(flags))
        assert "tcp_fin_xmas_scan" in {a.rule_id for a in anomalies}
        assert engine.hits["tcp_null_scan"] == 0


def _session(t: float, c: bytes, s: bytes, sport: int, dport: int) -> list:
    return [
        tcp_frame(t, c, s, sport, dport, SYN),
        tcp_frame(t + 0.01, s, c, dport, sport, SYN | ACK),
        tcp_frame(t + 0.02, c, s, sport, dport, ACK),
        tcp_frame(t + 0.05, c, s, sport, dport, PSH | ACK, payload=90),
        tcp_frame(t + 0.08, s, c, dport, sport, PSH | ACK, payload=60),
        tcp_frame(t + 0.1, c, s, sport, dport, FIN | ACK),
        tcp_frame(t + 0.11, s, c, dport, sport, FIN | ACK),
    ]


def test_rdp_bruteforce_one_event_with_evidence(tmp_path):
    frames = [
        f for i in range(30) for f in _session(100.0 + i * 0.3, SCANNER, TARGET, 40000 + i, 3389)
    ]
    engine, anomalies = _anomalies(tmp_path, frames)
    brute = [a for a in anomalies if a.rule_id == "bruteforce_login"]
    assert len(brute) == 1  # suppressed per (rule, host)
    ev = brute[0]
    assert ev.detector == "rules" and ev.severity == "high"
    assert ev.src_ip == "203.0.113.9" and ev.dst_port == 3389
    assert ev.score >= ev.threshold == 8
    assert ev.evidence["suppressed_hits"] == 0 and engine.hits["bruteforce_login"] > 1


def test_few_logins_are_not_bruteforce(tmp_path):
    frames = [f for i in range(3) for f in _session(100.0 + i * 20, SCANNER, TARGET, 40000 + i, 22)]
    engine, anomalies = _anomalies(tmp_path, frames)
    assert anomalies == [] and dict(engine.hits) == {}


def test_local_reflector_abused_for_amplification(tmp_path):
    victim, resolver = addr("198.51.100.7"), addr("10.0.0.53")
    frames = []
    for i in range(20):  # spoofed queries from the victim's address, large answers
        frames.append(udp_frame(100.0 + i * 0.1, victim, resolver, 80, 53, 60))
        frames.append(udp_frame(100.0 + i * 0.1 + 0.001, resolver, victim, 53, 80, 3000))
    _engine, anomalies = _anomalies(tmp_path, frames)
    hit = next(a for a in anomalies if a.rule_id == "amplification_ratio")
    assert hit.dst_ip == "10.0.0.53" and hit.score > 30


def test_ordinary_dns_is_not_amplification(tmp_path):
    client, resolver = addr("10.0.0.11"), addr("10.0.0.53")
    frames = []
    for i in range(20):
        frames.append(udp_frame(100.0 + i, client, resolver, 50000 + i, 53, 40))
        frames.append(udp_frame(100.0 + i + 0.01, resolver, client, 53, 50000 + i, 400))
    engine, anomalies = _anomalies(tmp_path, frames)
    assert anomalies == [] and dict(engine.hits) == {}


def test_reflection_flood_of_small_answers(tmp_path):
    victim = addr("10.0.0.30")
    frames = [
        udp_frame(100.0 + i * 0.01, addr(f"192.0.2.{i + 1}"), victim, 161, 3000 + i, 40)
        for i in range(80)
    ]
    _engine, anomalies = _anomalies(tmp_path, frames)
    hits = [a for a in anomalies if a.rule_id == "reflection_flood"]
    assert len(hits) == 1 and hits[0].dst_ip == "10.0.0.30" and hits[0].score >= 50


def test_dhcp_and_ipv6_duplicate_address_detection_are_not_bogons(tmp_path):
    import socket
    import struct

    frames = [udp_frame(100.0, addr("0.0.0.0"), addr("255.255.255.255"), 68, 67, 300)]
    icmp6 = bytes((135, 0, 0, 0, 0, 0, 0, 0)) + bytes(16)
    ip6 = struct.pack(
        "!IHBB16s16s",
        6 << 28,
        len(icmp6),
        58,
        255,
        bytes(16),
        socket.inet_pton(socket.AF_INET6, "ff02::1:ff8e:c3d1"),
    )
    frames.append((101.0, bytes(12) + b"\x86\xdd" + ip6 + icmp6, 14 + 40 + len(icmp6), "benign"))
    frames.append(udp_frame(102.0, addr("0.0.0.0"), addr("10.0.0.1"), 4000, 53, 30))
    _engine, anomalies = _anomalies(tmp_path, frames)
    assert [(a.rule_id, a.dst_port) for a in anomalies] == [("bogon_source", 53)]


def _login_session(t: float, c: bytes, s: bytes, sport: int, dport: int) -> list:
    """A login attempt: handshake, banner exchange and three tries of credentials, then close."""
    frames = [
        tcp_frame(t, c, s, sport, dport, SYN),
        tcp_frame(t + 0.01, s, c, dport, sport, SYN | ACK),
        tcp_frame(t + 0.02, c, s, sport, dport, ACK),
    ]
    for k in range(3):
        frames.append(tcp_frame(t + 0.05 + k * 0.1, c, s, sport, dport, PSH | ACK, payload=80))
        frames.append(tcp_frame(t + 0.1 + k * 0.1, s, c, dport, sport, PSH | ACK, payload=40))
    frames.append(tcp_frame(t + 0.5, c, s, sport, dport, FIN | ACK))
    frames.append(tcp_frame(t + 0.51, s, c, dport, sport, FIN | ACK))
    return frames


def test_bruteforce_on_a_non_standard_port(tmp_path):
    # prepare: 30 login attempts in 9 s to port 902 (ssh moved off 22)
    frames = [
        f
        for i in range(30)
        for f in _login_session(100.0 + i * 0.3, SCANNER, TARGET, 40000 + i, 902)
    ]
    # execute
    _engine, anomalies = _anomalies(tmp_path, frames)
    # assert
    hits = [a for a in anomalies if a.rule_id == "bruteforce_any_port"]
    assert hits and hits[0].family == "bruteforce" and hits[0].src_ip == "203.0.113.9"


def test_a_web_client_reusing_few_connections_is_no_http_scan(tmp_path):
    frames = [f for i in range(6) for f in _session(100.0 + i, SCANNER, TARGET, 40000 + i, 443)]
    engine, _ = _anomalies(tmp_path, frames)
    assert engine.hits["http_scan"] == 0


def test_http_scan_burst(tmp_path):
    frames = [
        f for i in range(40) for f in _session(100.0 + i * 0.2, SCANNER, TARGET, 40000 + i, 80)
    ]
    _engine, anomalies = _anomalies(tmp_path, frames)
    assert any(a.rule_id == "http_scan" and a.family == "scan" for a in anomalies)


def test_icmp_sweep(tmp_path):
    from edge_agent.capture.frames import icmp_frame

    frames = [icmp_frame(100.0 + i * 0.05, SCANNER, addr(f"10.0.0.{i}"), 8) for i in range(1, 30)]
    _engine, anomalies = _anomalies(tmp_path, frames)
    assert any(a.rule_id == "icmp_sweep" and a.src_ip == "203.0.113.9" for a in anomalies)


def test_pinging_a_few_hosts_is_no_sweep(tmp_path):
    from edge_agent.capture.frames import icmp_frame

    frames = [icmp_frame(100.0 + i, SCANNER, addr(f"10.0.0.{i % 3 + 1}"), 8) for i in range(20)]
    engine, _ = _anomalies(tmp_path, frames)
    assert engine.hits["icmp_sweep"] == 0
