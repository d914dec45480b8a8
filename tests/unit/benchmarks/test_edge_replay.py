"""edge_replay runs the agent's parts beside detection as the agent ships them: the IOC
detector (with a bundle), the passive inventory and the evidence ring, each of which can be
turned off for its cost; the detection scores do not depend on them. It times each L7
extractor and the Community ID separately."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.edge_replay import EXTRAS, extractor_costs, run
from edge_agent.capture.frames import write_pcap
from edge_agent.capture.l7.tap import Extractors
from edge_agent.capture.sim import SimConfig, simulate
from tests.unit.edge_agent.l7_frames import (
    HTTP_REQUEST,
    client_hello,
    dns_query,
    dns_response,
    tcp_session,
    udp_exchange,
)


def _capture(tmp_path: Path) -> Path:
    sim = simulate(SimConfig(scenario="mixed", seed=5, hosts=6, duration=60.0))
    path = tmp_path / "sim.pcap"
    write_pcap(path, sim.frames)
    return path


def test_the_extras_run_as_the_agent_runs_them_and_leave_the_scores_alone(tmp_path):
    # prepare
    pcap = _capture(tmp_path)
    # execute
    bare = run(pcap, 0, None, None, baseline=False)
    full = run(pcap, 0, None, None, baseline=False, extras=frozenset(EXTRAS), ioc_indicators=500)
    # assert: the ring holds frames, the inventory and the IOC detector counted, the scores
    # (rules, no LSTM) are the same with and without them
    assert bare["evidence_ring"] is None and bare["extras"] == []
    ring = full["evidence_ring"]
    assert ring is not None and ring["frames"] > 0 and ring["bytes"] > 0
    assert full["extras"] == sorted(EXTRAS)
    assert full["counters"]["inventory_assets"] > 0 and "inventory_assets" not in bare["counters"]
    assert "ioc" in full["detectors"] and "ioc" not in bare["detectors"]
    np.testing.assert_array_equal(full["scores"], bare["scores"])


def _l7_capture(tmp_path: Path) -> Path:
    """One flow of each protocol the taps read: TLS (a ClientHello), HTTP, SSH, DNS."""
    sessions = [
        tcp_session([client_hello("example.com")], [], dport=443),
        tcp_session([HTTP_REQUEST], [], dport=80),
        tcp_session([b"SSH-2.0-OpenSSH_9.6\r\n"], [b"SSH-2.0-OpenSSH_9.2\r\n"], dport=22),
        udp_exchange(dns_query(), dns_response()),
    ]
    frames = [
        (ts + 10.0 * i, hdr, wire, label)
        for i, session in enumerate(sessions)
        for ts, hdr, wire, label in session
    ]
    path = tmp_path / "l7.pcap"
    write_pcap(path, frames)
    return path


def test_each_l7_extractor_and_the_community_id_are_timed_separately(tmp_path: Path) -> None:
    # prepare
    pcap = _l7_capture(tmp_path)
    # execute
    costs = extractor_costs(pcap, seed=0, reps=1, full_cpu_seconds=1.0)
    # assert: every shipped parser was handed something and timed; the taps found each protocol
    ex = costs["extractors"]
    assert set(ex) == {*Extractors._fields, "tap_total", "community_id"}
    for name, row in ex.items():
        assert row["calls"] > 0, name
        assert row["cpu_seconds"] >= 0 and row["us_per_call"] is not None, name
        assert row["share_of_full_stack"] is not None, name
    assert costs["flows_with_l7"] == {"tls": 1, "http": 1, "ssh": 1, "dns": 1}
    assert ex["community_id"]["calls"] == 4  # one per flow
    assert ex["ssh"]["calls"] == 2  # a banner each side
