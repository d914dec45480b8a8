"""The pipeline: flow end reasons, timeouts, the bounded table, counters, detectors, contracts."""

from __future__ import annotations

import random

from contracts import FLOW_FEATURES, decode, encode
from contracts.events import AnomalyEvent, FlowRecord
from contracts.features import FEATURE_INDEX
from edge_agent.capture import Packet, ParseStats, parse_frame
from edge_agent.capture.frames import addr, tcp_frame, udp_frame
from edge_agent.capture.packet import ACK, FIN, LT_ETHERNET, PSH, RST, SYN
from edge_agent.detectors.base import Detector
from edge_agent.flows import FlowConfig
from edge_agent.pipeline import Pipeline

A, B, C = addr("10.1.0.1"), addr("10.1.0.2"), addr("10.1.0.3")


def _pkt(frame: tuple, label: str | None = None) -> Packet:
    ts, data, wire, _ = frame
    pkt = parse_frame(data, LT_ETHERNET, ts, wire, ParseStats(), label)
    assert pkt is not None
    return pkt


class Recorder:
    """A detector that reports every flow it sees and every tick."""

    name = "recorder"

    def __init__(self) -> None:
        self.flows: list[FlowRecord] = []
        self.ticks: list[float] = []

    def on_flow(self, flow: FlowRecord) -> list[AnomalyEvent]:
        self.flows.append(flow)
        return [
            AnomalyEvent(
                node_id=flow.node_id, detector="rules", rule_id="seen", score=1.0, threshold=0.5
            )
        ]

    def on_tick(self, now: float) -> list[AnomalyEvent]:
        self.ticks.append(now)
        return []


def _flows(events: list) -> list[FlowRecord]:
    return [e for e in events if e.kind == "flow"]


def test_fin_from_both_sides_ends_the_flow_at_once_and_the_last_ack_is_absorbed():
    pipe = Pipeline("n1")
    frames = [
        tcp_frame(1.0, A, B, 40000, 80, SYN),
        tcp_frame(1.01, B, A, 80, 40000, SYN | ACK),
        tcp_frame(1.02, A, B, 40000, 80, ACK),
        tcp_frame(1.03, A, B, 40000, 80, PSH | ACK, payload=100),
        tcp_frame(1.04, A, B, 40000, 80, FIN | ACK),
    ]
    assert all(pipe.feed(_pkt(f)) == [] for f in frames)
    out = pipe.feed(_pkt(tcp_frame(1.05, B, A, 80, 40000, FIN | ACK)))
    assert [(e.end_reason, e.src_ip, e.dst_port) for e in _flows(out)] == [("fin", "10.1.0.1", 80)]
    assert pipe.feed(_pkt(tcp_frame(1.06, A, B, 40000, 80, ACK))) == []
    assert pipe.close() == [] and pipe.counters()["flows"] == 1


def test_rst_ends_a_flow_and_a_new_syn_on_the_same_ports_is_a_new_flow():
    pipe = Pipeline("n1")
    pipe.feed(_pkt(tcp_frame(1.0, A, B, 40000, 22, SYN)))
    out = pipe.feed(_pkt(tcp_frame(1.001, B, A, 22, 40000, RST | ACK)))
    assert [e.end_reason for e in _flows(out)] == ["rst"]
    pipe.feed(_pkt(tcp_frame(1.5, A, B, 40000, 22, SYN)))
    assert [e.end_reason for e in _flows(pipe.close())] == ["flush"]


def test_tick_expires_idle_flows_and_ticks_detectors():
    rec = Recorder()
    pipe = Pipeline("n1", [rec], FlowConfig(idle_timeout_s=10))
    pipe.feed(_pkt(udp_frame(100.0, A, B, 5000, 9999, 10)))
    pipe.feed(_pkt(udp_frame(104.0, A, C, 5001, 9999, 10)))
    assert _flows(pipe.tick(109.0)) == []
    out = pipe.tick(111.0)
    assert [(e.dst_ip, e.end_reason) for e in _flows(out)] == [("10.1.0.2", "idle")]
    assert [e.rule_id for e in out if e.kind == "anomaly"] == ["seen"]
    assert rec.ticks[-2:] == [109.0, 111.0]
    assert [e.dst_ip for e in _flows(pipe.tick(115.0))] == ["10.1.0.3"]


def test_feed_ticks_on_capture_time():
    rec = Recorder()
    pipe = Pipeline("n1", [rec], FlowConfig(idle_timeout_s=5))
    pipe.feed(_pkt(udp_frame(100.0, A, B, 5000, 9999, 10)))
    out = pipe.feed(_pkt(udp_frame(120.0, A, C, 5001, 9999, 10)))  # 20 s later in the capture
    assert [e.end_reason for e in _flows(out)] == ["idle"]
    assert rec.ticks and rec.ticks[-1] == 120.0


def test_active_timeout_exports_long_flows_in_pieces():
    pipe = Pipeline("n1", config=FlowConfig(active_timeout_s=10, idle_timeout_s=5))
    events = []
    for i in range(31):  # one datagram a second for 30 s
        events += pipe.feed(_pkt(udp_frame(1000.0 + i, A, B, 5000, 514, 50)))
    events += pipe.close()
    reasons = [e.end_reason for e in _flows(events)]
    assert reasons == ["active", "active", "flush"]
    assert sum(e.features[FEATURE_INDEX["fwd_packets"]] for e in _flows(events)) == 31


def test_the_table_is_bounded_and_evictions_are_counted():
    pipe = Pipeline("n1", config=FlowConfig(max_flows=10))
    events = []
    for i in range(50):
        events += pipe.feed(_pkt(udp_frame(1.0 + i * 0.001, A, B, 10000 + i, 53, 30)))
    assert len(pipe.table) == 10
    evicted = [e for e in _flows(events) if e.end_reason == "evicted"]
    assert [e.src_port for e in evicted] == list(range(10000, 10040))  # oldest first
    assert pipe.counters()["evictions"] == 40


def test_counters_report_malformed_frames_by_reason():
    stats = ParseStats()
    pipe = Pipeline("n1", parse_stats=stats)
    for data in (
        b"\x00" * 5,
        bytes(12) + b"\x08\x06" + bytes(28),
        bytes(12) + b"\x88\xcc" + bytes(30),
    ):
        assert parse_frame(data, LT_ETHERNET, 1.0, len(data), stats) is None
    c = pipe.counters()
    assert c["malformed"] == 3
    assert c["malformed_truncated"] == c["malformed_arp_bad_header"] == c["malformed_non_ip"] == 1
    assert {"packets", "flows", "anomalies", "open_flows", "evictions"} <= set(
        Pipeline("x").counters()
    )


def test_detector_events_come_out_with_the_flows_and_are_counted():
    rec = Recorder()
    assert isinstance(rec, Detector)
    pipe = Pipeline("n1", [rec])
    pipe.feed(_pkt(udp_frame(1.0, A, B, 5000, 53, 30)))
    out = pipe.close()
    assert [e.kind for e in out] == ["flow", "anomaly"]
    assert rec.flows[0] is out[0]
    assert pipe.counters()["anomalies"] == 1 and pipe.by_detector["rules"] == 1


def test_a_flow_is_labelled_with_its_attack_when_any_packet_is():
    pipe = Pipeline("n1")
    pipe.feed(_pkt(tcp_frame(1.0, A, B, 40000, 23, SYN), "benign"))
    pipe.feed(_pkt(tcp_frame(1.1, A, B, 40000, 23, ACK), "telnet_bruteforce"))
    pipe.feed(_pkt(tcp_frame(1.2, A, B, 40000, 23, ACK), "benign"))
    assert [e.label for e in _flows(pipe.close())] == ["telnet_bruteforce"]


def test_host_window_features_count_fanout_ports_and_syn_ratio():
    pipe = Pipeline("n1")
    events = []
    for i in range(30):  # A probes 30 hosts on 3 ports; 5 answer
        dst = addr(f"10.2.0.{i + 1}")
        events += pipe.feed(_pkt(tcp_frame(10.0 + i * 0.01, A, dst, 50000 + i, 22 + i % 3, SYN)))
        if i < 5:
            events += pipe.feed(
                _pkt(tcp_frame(10.005 + i * 0.01, dst, A, 22 + i % 3, 50000 + i, SYN | ACK))
            )
    events += pipe.close()
    last = max(_flows(events), key=lambda e: e.start_ts)
    f = dict(zip(FLOW_FEATURES, last.features, strict=True))
    assert f["src_fanout_hosts"] == 30 and f["src_distinct_dst_ports"] == 3
    assert f["src_flows_in_window"] == 30
    assert f["src_syn_to_synack_ratio"] == 30 / (5 + 1)


def test_random_and_out_of_order_traffic_gives_valid_contracts():
    rng = random.Random(1)
    hosts = [addr(f"10.3.0.{i}") for i in range(1, 8)]
    pipe = Pipeline("fuzz", config=FlowConfig(max_flows=50, idle_timeout_s=3, active_timeout_s=8))
    events = []
    ts = 1000.0
    for _ in range(5000):
        ts += rng.uniform(-0.5, 0.6)  # sometimes backwards, as merged captures are
        s, d = rng.sample(hosts, 2)
        if rng.random() < 0.6:
            fr = tcp_frame(
                ts,
                s,
                d,
                rng.choice((1, 80, 40000)),
                rng.choice((0, 22, 80)),
                rng.getrandbits(8),
                payload=rng.randint(0, 1400),
            )
        else:
            fr = udp_frame(
                ts, s, d, rng.randint(0, 65535), rng.choice((0, 53, 123)), rng.randint(0, 1400)
            )
        events += pipe.feed(_pkt(fr, rng.choice(("benign", "syn_flood"))))
        if rng.random() < 0.01:
            events += pipe.tick(ts)
    events += pipe.close()
    flows = _flows(events)
    assert len(flows) > 100
    for ev in flows:
        assert decode(encode(ev)) == ev  # full validation of the model_construct fast path
        assert ev.end_ts >= ev.start_ts
    assert pipe.counters()["open_flows"] == 0
