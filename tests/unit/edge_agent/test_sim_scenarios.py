"""The seeded simulator: deterministic, labelled, real frame bytes through the real parser."""

from __future__ import annotations

import itertools
import time

import pytest

from edge_agent.capture import CaptureError, open_source
from edge_agent.capture.frames import addr
from edge_agent.capture.sim import ATTACKS, SCENARIOS, SimConfig, simulate
from edge_agent.pipeline import Pipeline


def test_simulator_is_deterministic_and_labels_every_attack():
    a = simulate(SimConfig(scenario="mixed", seed=3, duration=200))
    b = simulate(SimConfig(scenario="mixed", seed=3, duration=200))
    assert a.frames == b.frames
    assert {f[3] for f in a.frames} >= {"benign", *[x for x in ATTACKS if x != "cnc_beaconing"]}
    assert simulate(SimConfig(scenario="mixed", seed=4, duration=200)).frames != a.frames


@pytest.mark.parametrize("scenario", ATTACKS)
def test_each_attack_scenario_is_benign_plus_that_attack(scenario):
    sim = simulate(SimConfig(scenario=scenario, seed=5, duration=120, hosts=8))
    labels = {f[3] for f in sim.frames}
    assert labels == {"benign", scenario}
    assert [w[0] for w in sim.attack_windows] == [scenario]
    ts = [f[0] for f in sim.frames]
    assert ts == sorted(ts)
    assert sim.config.start <= ts[0] and ts[-1] < sim.config.start + 120


def test_benign_has_web_dns_ntp_and_mqtt_and_nothing_else():
    sim = simulate(SimConfig(scenario="benign", seed=2, duration=200, hosts=9))
    src = open_source("sim:benign?seed=2&duration=200&hosts=9")
    ports = {min(p.sport, p.dport) for p in src}
    assert {f[3] for f in sim.frames} == {"benign"}
    assert {53, 123, 443, 1883} <= ports
    assert sim.infections == [] and sim.attack_windows == []


def test_mixed_runs_the_attacks_in_sequence_after_benign_only_time():
    sim = simulate(SimConfig(scenario="mixed", seed=1, duration=300))
    windows = sim.attack_windows
    assert [w[0] for w in windows] == list(ATTACKS)
    assert all(a[2] <= b[1] for a, b in itertools.pairwise(windows))  # no overlap
    first_attack = next(f[0] for f in sim.frames if f[3] != "benign")
    assert first_attack >= sim.config.start + 0.2 * 300  # a benign-only lead-in
    demo = simulate(SimConfig(scenario="demo", seed=1, duration=300))
    assert demo.attack_windows[0][0] == "port_scan_horizontal"


def test_frames_go_through_the_parser_without_skips_and_flows_carry_labels():
    src = open_source("sim:mixed?seed=7&hosts=20&duration=150")
    pipe = Pipeline("sim-1", parse_stats=src.stats)
    flows = [e for p in src for e in pipe.feed(p) if e.kind == "flow"]
    flows += [e for e in pipe.close() if e.kind == "flow"]
    assert src.stats.parsed == pipe.packets > 10_000
    assert not src.stats.skipped
    labels = {f.label for f in flows}
    assert "benign" in labels and "syn_flood" in labels and None not in labels


def test_mirai_spread_records_infections_between_lan_hosts():
    sim = simulate(SimConfig(scenario="mirai_scan_spread", seed=3, duration=300, hosts=20))
    assert len(sim.infections) >= 2
    lan = {f"10.0.0.{10 + i}" for i in range(20)}
    assert all(victim in lan for _, _, victim in sim.infections)
    assert all(att in lan for _, att, _ in sim.infections[1:])  # spread from infected hosts
    times = [t for t, _, _ in sim.infections]
    assert times == sorted(times)
    victims = [v for _, _, v in sim.infections]
    assert len(victims) == len(set(victims))  # each host is infected once


def test_every_infection_follows_telnet_traffic_from_its_attacker():
    sim = simulate(SimConfig(scenario="mirai_scan_spread", seed=3, duration=300, hosts=20))
    for t, attacker, victim in sim.infections[1:]:
        a, v = addr(attacker), addr(victim)
        telnet = [
            f
            for f in sim.frames
            if f[0] <= t and f[1][26:30] == a and f[1][30:34] == v and f[1][36:38] == b"\x00\x17"
        ]
        assert telnet, (attacker, victim)
        assert all(f[3] == "mirai_scan_spread" for f in telnet)
    # infected hosts scan too: more than one LAN host sends telnet SYNs
    scanners = {f[1][26:30] for f in sim.frames if f[3] == "mirai_scan_spread" and f[1][47] == 2}
    assert len(scanners) >= 2


def test_sim_source_options_are_parsed():
    src = open_source("sim:benign?seed=9&hosts=4&duration=30")
    assert src.config.hosts == 4 and src.config.duration == 30.0  # type: ignore[attr-defined]
    with pytest.raises(CaptureError):
        open_source("sim:benign?hosts=many")
    with pytest.raises(CaptureError, match="unknown scenario"):
        open_source("sim:volcano")
    with pytest.raises(CaptureError, match="hosts must be"):
        open_source("sim:benign?hosts=1")
    assert set(SCENARIOS) == {"benign", "mixed", "demo", *ATTACKS}


def test_recorded_speed_paces_the_simulation():
    src = open_source("sim:cnc_beaconing?seed=1&hosts=2&duration=0.5&speed=1")
    t0 = time.monotonic()
    packets = list(src)
    assert packets
    span = packets[-1].ts - packets[0].ts
    assert time.monotonic() - t0 >= span * 0.9
    assert abs(packets[0].ts - time.time()) < 60  # real-time runs use wall-clock timestamps
