"""Incident scoring against ground truth: synthetic incidents/truth, and the truth built from
a tiny labelled pcap the test writes itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from contracts.events import AlertEvent
from edge_agent.capture.frames import Frame, addr, icmp_frame, tcp_frame, udp_frame, write_pcap
from edge_agent.capture.packet import ACK, RST, SYN
from models.eval.incidents import (
    AttackTruth,
    GroundTruth,
    GroundTruthError,
    family_of,
    latest_incidents,
    score_incidents,
)

T0 = 1_700_000_000.0


def truth() -> GroundTruth:
    scan = AttackTruth(
        name="nmap_80_all",
        family="scan",
        first_ts=T0 + 100,
        last_ts=T0 + 110,
        packets=50,
        attackers=frozenset({"10.0.0.66"}),
        targets=frozenset({"10.0.0.5"}),
        hosts=frozenset({"10.0.0.66", "10.0.0.5"}),
    )
    flood = AttackTruth(
        name="synflood",
        family="dos",
        first_ts=T0 + 1000,
        last_ts=T0 + 1001,
        packets=5000,
        attackers=frozenset(),
        targets=frozenset({"10.10.10.10"}),
        spoofed=True,
        hosts=frozenset({"10.10.10.10", "1.2.3.4", "5.6.7.8"}),
    )
    hosts = scan.hosts | flood.hosts
    return GroundTruth(attacks=(scan, flood), benign_seconds=7200.0, attack_hosts=hosts)


def alert(
    key: str,
    family: str = "scan",
    hosts: tuple[str, ...] = (),
    attackers: tuple[str, ...] = (),
    targets: tuple[str, ...] = (),
    first: float | None = None,
    last: float | None = None,
    ts_offset: float = 0.0,
) -> AlertEvent:
    return AlertEvent(
        node_id="hub",
        ts=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=ts_offset),
        incident_key=key,
        severity="high",
        title=f"incident {key}",
        family=family,  # type: ignore[arg-type]
        hosts=list(hosts),
        attackers=list(attackers),
        targets=list(targets),
        event_first_ts=first,
        event_last_ts=last,
    )


def by_name(report: dict, name: str) -> dict:
    return next(a for a in report["attacks"] if a["name"] == name)


def test_found_attack_with_right_family_and_time_to_alert() -> None:
    # prepare: one incident names the scanner 3 s after the scan starts
    inc = alert("scan-1", "scan", attackers=("10.0.0.66",), first=T0 + 103, last=T0 + 108)

    # execute
    report = score_incidents([inc], truth())

    # assert
    scan = by_name(report, "nmap_80_all")
    assert scan["found"] and scan["family_right"] and scan["named_attacker"]
    assert scan["time_to_alert_s"] == pytest.approx(3.0)
    assert scan["first_incident"] == "scan-1"
    assert report["summary"]["attacks_found"] == 1
    assert report["summary"]["attacks_first_incident_family_right"] == 1
    assert report["summary"]["time_to_alert_p50_s"] == pytest.approx(3.0)
    assert report["incidents"][0]["matched"] == "nmap_80_all"
    assert report["summary"]["incidents_false"] == 0


def test_wrong_family_is_found_but_not_right() -> None:
    # prepare: the target is named in time, but the incident calls it a DoS
    inc = alert("x", "dos", targets=("10.0.0.5",), first=T0 + 105, last=T0 + 105)

    # execute
    report = score_incidents([inc], truth())

    # assert
    scan = by_name(report, "nmap_80_all")
    assert scan["found"] and not scan["family_right"]
    assert scan["named_target"] and not scan["named_attacker"]
    assert report["summary"]["attacks_family_right"] == 0
    assert report["summary"]["attacks_first_incident_family_right"] == 0


def test_false_incident_and_rate_per_benign_hour() -> None:
    # prepare: an incident about a host that took part in no attack
    inc = alert("benign-host", "other", hosts=("192.168.9.9",), first=T0 + 105, last=T0 + 106)

    # execute
    report = score_incidents([inc], truth())

    # assert: 1 false incident over 2 benign hours
    assert report["summary"]["incidents_false"] == 1
    assert report["summary"]["incidents_false_hosts_only"] == 1
    assert report["summary"]["false_per_benign_hour"] == pytest.approx(0.5)
    assert report["incidents"][0]["matched"] == "false"
    assert report["summary"]["attacks_found"] == 0


def test_spoofed_flood_is_matched_by_target_and_sources_are_not_false() -> None:
    # prepare: one incident about the flood's target, one about a spoofed source only
    target = alert("flood", "dos", targets=("10.10.10.10",), first=T0 + 1000.2, last=T0 + 1001)
    source = alert("src", "other", hosts=("1.2.3.4",), first=T0 + 1000.5, last=T0 + 1000.5)

    # execute
    report = score_incidents([target, source], truth())

    # assert
    flood = by_name(report, "synflood")
    assert flood["spoofed"] and flood["attackers"] == []
    assert flood["found"] and flood["family_right"]
    assert flood["time_to_alert_s"] == pytest.approx(0.2, abs=1e-6)
    verdicts = {r["key"]: r["matched"] for r in report["incidents"]}
    assert verdicts == {"flood": "synflood", "src": "related"}
    assert report["summary"]["incidents_false"] == 0
    assert report["summary"]["incidents_related"] == 1


def test_time_outside_the_span_and_slack_does_not_match() -> None:
    # prepare: names the scanner, but an hour after the scan
    inc = alert("late", "scan", attackers=("10.0.0.66",), first=T0 + 3700, last=T0 + 3800)

    # execute
    strict = score_incidents([inc], truth(), slack_s=60.0)
    loose = score_incidents([inc], truth(), slack_s=4000.0)

    # assert
    assert not by_name(strict, "nmap_80_all")["found"]
    assert by_name(strict, "nmap_80_all")["named_at_any_time"]
    assert strict["incidents"][0]["matched"] == "false"  # an attack host, but not in time
    assert strict["summary"]["incidents_false_hosts_only"] == 0
    assert by_name(loose, "nmap_80_all")["found"]
    assert loose["summary"]["incidents_false"] == 0


def test_incident_without_event_time_never_matches() -> None:
    inc = alert("no-time", "scan", attackers=("10.0.0.66",))

    report = score_incidents([inc], truth())

    assert not by_name(report, "nmap_80_all")["found"]
    assert report["summary"]["incidents_without_event_time"] == 1


def test_latest_version_of_each_key_is_scored() -> None:
    # prepare: the first version names nobody, the update names the scanner
    old = alert("k", "other", hosts=("192.168.9.9",), first=T0 + 101, last=T0 + 101)
    new = alert("k", "scan", attackers=("10.0.0.66",), first=T0 + 101, last=T0 + 109, ts_offset=5.0)

    # execute
    report = score_incidents([new, old], truth())

    # assert
    assert [i.family for i in latest_incidents([new, old])] == ["scan"]
    assert report["summary"]["incidents"] == 1
    assert report["summary"]["incident_versions"] == 2
    assert by_name(report, "nmap_80_all")["found"]
    assert report["summary"]["incidents_false"] == 0


def test_time_to_alert_takes_the_earliest_matching_incident_p95() -> None:
    late = alert("late", "scan", attackers=("10.0.0.66",), first=T0 + 109, last=T0 + 110)
    early = alert("early", "scan", targets=("10.0.0.5",), first=T0 + 101, last=T0 + 104)
    flood = alert("flood", "dos", targets=("10.10.10.10",), first=T0 + 1000, last=T0 + 1000)

    report = score_incidents([late, early, flood], truth())

    assert by_name(report, "nmap_80_all")["first_incident"] == "early"
    assert by_name(report, "nmap_80_all")["time_to_alert_s"] == pytest.approx(1.0)
    assert report["summary"]["time_to_alert_p50_s"] == pytest.approx(0.5)
    assert report["summary"]["time_to_alert_p95_s"] == pytest.approx(0.95)


def test_family_of_mapping_and_fallbacks() -> None:
    assert family_of("ssh_bruteforce") == "bruteforce"
    assert family_of("telnet_botnet") == "botnet"
    assert family_of("synflood_first5000") == "dos"
    assert family_of("udp_ddos_x") == "dos"
    assert family_of("arp_sweep") == "scan"
    assert family_of("mirai_scan_spread") == "botnet"
    assert family_of("new_botnet_scan") == "botnet"
    assert family_of("weird") == "other"
    assert family_of("weird", {"weird": "web"}) == "web"


# ---------------------------------------------------------------- from a capture

SCANNER, VICTIM, OTHER = "192.168.1.66", "192.168.1.5", "192.168.1.7"


def labelled_capture(tmp_path: Path) -> tuple[Path, Path]:
    """Benign traffic, a SYN scan by SCANNER on VICTIM, a spoofed SYN flood on OTHER."""
    s, v, o = addr(SCANNER), addr(VICTIM), addr(OTHER)
    rows: list[tuple[Frame, str]] = [
        (udp_frame(T0, v, o, 5353, 5353, 40), "benign"),
        (icmp_frame(T0 + 1, o, v, 8), "benign"),
    ]
    for i in range(20):  # the scan: SYNs out, RSTs back
        rows.append((tcp_frame(T0 + 10 + i * 0.1, s, v, 40000, 20 + i, SYN), "nmap_scan"))
        rows.append((tcp_frame(T0 + 10.05 + i * 0.1, v, s, 20 + i, 40000, RST | ACK), "nmap_scan"))
    rows.append((udp_frame(T0 + 50, v, o, 5353, 5353, 40), "benign"))
    for i in range(40):  # the spoofed flood: one SYN from each of 40 sources
        src = addr(f"203.0.113.{i + 1}")
        rows.append((tcp_frame(T0 + 60 + i * 0.01, src, o, 1000 + i, 80, SYN), "synflood"))
    rows.append((tcp_frame(T0 + 100, v, o, 50000, 443, SYN | ACK), "benign"))
    pcap, labels = tmp_path / "cap.pcap", tmp_path / "cap_labels.csv"
    write_pcap(pcap, [f for f, _ in rows])
    lines = ["index,label,attack"]
    lines += [f"{i},{0 if n == 'benign' else 1},{n}" for i, (_, n) in enumerate(rows)]
    labels.write_text("\n".join(lines) + "\n")
    return pcap, labels


def test_ground_truth_from_capture(tmp_path: Path) -> None:
    # prepare
    pcap, labels = labelled_capture(tmp_path)

    # execute
    gt = GroundTruth.from_capture(pcap, labels)

    # assert
    scan, flood = gt.attacks
    assert scan.name == "nmap_scan" and scan.family == "scan"
    assert scan.attackers == {SCANNER} and scan.targets == {VICTIM} and not scan.spoofed
    assert scan.packets == 40
    assert scan.first_ts == pytest.approx(T0 + 10) and scan.last_ts == pytest.approx(T0 + 11.95)
    assert flood.family == "dos" and flood.spoofed and flood.attackers == frozenset()
    assert flood.targets == {OTHER} and flood.packets == 40
    assert {SCANNER, VICTIM, OTHER, "203.0.113.1"} <= gt.attack_hosts
    span = 100.0 - (11.95 - 10.0) - (60.39 - 60.0)
    assert gt.benign_seconds == pytest.approx(span, abs=1e-3)


def test_ground_truth_start_packet_skips_the_prefix(tmp_path: Path) -> None:
    pcap, labels = labelled_capture(tmp_path)

    gt = GroundTruth.from_capture(pcap, labels, start_packet=45)

    assert [a.name for a in gt.attacks] == ["synflood"]
    assert gt.capture_first_ts == pytest.approx(T0 + 60)


def test_ground_truth_from_capture_scores_end_to_end(tmp_path: Path) -> None:
    pcap, labels = labelled_capture(tmp_path)
    gt = GroundTruth.from_capture(pcap, labels)
    inc = alert("s", "scan", attackers=(SCANNER,), targets=(VICTIM,), first=T0 + 12, last=T0 + 12)

    report = score_incidents([inc], gt)

    assert report["summary"]["attacks_found"] == 1
    assert by_name(report, "nmap_scan")["time_to_alert_s"] == pytest.approx(2.0)
    assert not by_name(report, "synflood")["found"]


def test_labels_that_do_not_match_the_capture_are_refused(tmp_path: Path) -> None:
    pcap, labels = labelled_capture(tmp_path)
    short = tmp_path / "short.csv"
    short.write_text("\n".join(labels.read_text().splitlines()[:10]) + "\n")
    bad_header = tmp_path / "bad.csv"
    bad_header.write_text("a,b\n0,1\n")

    with pytest.raises(GroundTruthError, match="more packets"):
        GroundTruth.from_capture(pcap, short)
    with pytest.raises(GroundTruthError, match="header"):
        GroundTruth.from_capture(pcap, bad_header)
    with pytest.raises(GroundTruthError, match="no such file"):
        GroundTruth.from_capture(tmp_path / "missing.pcap", labels)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"index,label,attack\n0,1,\xff\xfe\n")
    with pytest.raises(GroundTruthError, match="not a labels CSV"):
        GroundTruth.from_capture(pcap, binary)


def test_flows_without_the_fields_are_refused() -> None:
    with pytest.raises(GroundTruthError, match="flow 0"):
        GroundTruth.from_flows([{"label": "syn_flood", "node_id": "s1"}])


def test_ground_truth_from_labelled_flows_per_node() -> None:
    # prepare: the same scan on two sensors, benign flows, and a spoofed flood (40 sources)
    def flow(node: str, label: str, src: str, dst: str, start: float, end: float) -> dict:
        return {"node_id": node, "label": label, "src_ip": src, "dst_ip": dst,
                "start_ts": start, "end_ts": end}  # fmt: skip

    flows = [flow("s1", "benign", "10.1.0.2", "10.1.0.3", T0, T0 + 500)]
    flows += [flow("s1", "port_scan_vertical", "10.1.0.66", "10.1.0.5", T0 + 10 + i, T0 + 10.5 + i) for i in range(5)]  # fmt: skip
    flows += [flow("s2", "port_scan_vertical", "10.2.0.66", "10.2.0.5", T0 + 20, T0 + 21)]
    flows += [flow("s2", "syn_flood", f"203.0.113.{i}", "10.2.0.9", T0 + 100, T0 + 101) for i in range(40)]  # fmt: skip

    # execute
    gt = GroundTruth.from_flows(flows)

    # assert
    names = {a.name: a for a in gt.attacks}
    assert set(names) == {"port_scan_vertical@s1", "port_scan_vertical@s2", "syn_flood@s2"}
    s1 = names["port_scan_vertical@s1"]
    assert s1.family == "scan" and s1.attackers == {"10.1.0.66"} and s1.targets == {"10.1.0.5"}
    assert s1.packets == 5 and s1.first_ts == T0 + 10 and s1.last_ts == pytest.approx(T0 + 14.5)
    flood = names["syn_flood@s2"]
    assert flood.family == "dos" and flood.spoofed and flood.targets == {"10.2.0.9"}
    assert gt.benign_seconds == pytest.approx(500 - 4.5 - 1 - 1)


def test_time_from_the_attackers_first_initiation() -> None:
    # prepare: the labels cover the bot's whole traffic; its SYN scan starts 400 s later
    pkts = [(T0, "bot", "10.0.0.9", "8.8.8.8", False)]  # a DNS query, labelled attack
    pkts += [(T0 + 400 + i, "bot", "10.0.0.9", f"10.0.1.{i}", True) for i in range(10)]
    pkts += [(T0 + 1000, "benign", "10.0.0.2", "10.0.0.3", False)]
    gt = GroundTruth.from_packets(pkts)
    inc = alert("b", "botnet", attackers=("10.0.0.9",), first=T0 + 405, last=T0 + 409)

    # execute
    report = score_incidents([inc], gt)

    # assert
    (bot,) = gt.attacks
    assert bot.first_ts == T0 and bot.first_initiation_ts == T0 + 400
    assert bot.attackers == {"10.0.0.9"} and "8.8.8.8" not in bot.targets
    row = by_name(report, "bot")
    assert row["time_to_alert_s"] == pytest.approx(405.0)
    assert row["time_from_initiation_s"] == pytest.approx(5.0)
    assert report["summary"]["time_from_initiation_p95_s"] == pytest.approx(5.0)
