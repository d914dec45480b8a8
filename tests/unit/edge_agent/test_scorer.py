"""The edge's one detection stack: baseline learning period, scoring, escalation, events."""

from __future__ import annotations

import json

import numpy as np
import pytest

from contracts import FLOW_FEATURES
from contracts.events import FlowRecord
from contracts.features import FEATURE_INDEX
from edge_agent.agent import load_scorer
from edge_agent.capture import open_source
from edge_agent.detectors.baseline import Baseline, BaselineConfig, BaselineError
from edge_agent.detectors.scorer import EdgeScorer
from edge_agent.pipeline import Pipeline
from edge_agent.rules import RuleEngine
from edge_agent.settings import AgentSettings

RNG = np.random.default_rng(7)


def flow(
    i: int,
    t: float,
    src: str = "10.0.0.2",
    dst: str = "10.0.0.9",
    dport: int = 443,
    scale: float = 1.0,
) -> FlowRecord:
    """A benign-looking flow: features near fixed values with a little noise (x ``scale``)."""
    base = np.full(len(FLOW_FEATURES), 5.0) * (1 + 0.1 * RNG.standard_normal(len(FLOW_FEATURES)))
    feats = np.abs(base) * scale
    return FlowRecord(
        node_id="pi-1",
        flow_id=f"f{i}",
        src_ip=src,
        dst_ip=dst,
        src_port=40000 + i % 1000,
        dst_port=dport,
        proto=6,
        start_ts=t,
        end_ts=t + 1.0,
        end_reason="fin",
        features=[float(x) for x in feats],
    )


def test_baseline_learns_for_flows_and_time_then_scores():
    # prepare
    b = Baseline(BaselineConfig(learn_flows=200, learn_s=1000.0))
    # execute: 200 flows in 400 s are not enough time; the learning period goes on
    for i in range(200):
        b.observe(flow(i, i * 2.0), flagged=False)
    still_learning = b.state
    progress = b.progress
    for i in range(200, 400):
        b.observe(flow(i, i * 3.0), flagged=False)
    # assert
    assert still_learning == "learning"
    assert 0.3 < progress < 0.5
    assert b.state == "ready" and b.progress == 1.0
    assert b.score(flow(1, 5000.0)) < 1.0
    assert b.score(flow(2, 5000.0, scale=100.0)) > 5.0
    assert b.score(flow(3, 5000.0, dport=31337)) >= 3.0  # a service never seen in learning


def test_attack_flows_inside_the_learning_period_are_not_learned_as_normal():
    # prepare: 1 % of the learning flows are a scan to ports never used otherwise (unflagged)
    b = Baseline(BaselineConfig(learn_flows=1000, learn_s=0.0))
    for i in range(1000):
        if i % 100 == 7:
            b.observe(flow(i, float(i), src="10.9.9.9", dport=20000 + i, scale=50.0), False)
        else:
            b.observe(flow(i, float(i)), flagged=False)
    # execute
    attack = b.score(flow(5000, 2000.0, src="10.9.9.9", dport=20_500, scale=50.0))
    benign = b.score(flow(5001, 2000.0))
    # assert: trimming dropped them, so their service and ranges stay novel
    assert b.state == "ready"
    assert attack > 5.0 and benign < 1.0


def test_flows_of_a_flagged_host_are_left_out_of_the_learning():
    b = Baseline(BaselineConfig(learn_flows=20, learn_s=0.0))
    b.observe(flow(0, 0.0, src="10.6.6.6", dport=23), flagged=True)
    for i in range(1, 40):
        b.observe(flow(i, float(i), src="10.6.6.6", dport=23, scale=30.0), flagged=False)
    assert b.state == "learning"  # none of the flagged host's flows counted


def test_baseline_persists_reloads_and_relearns(tmp_path):
    # prepare
    path = tmp_path / "state" / "baseline.json"
    b = Baseline(BaselineConfig(learn_flows=50, learn_s=0.0, path=path))
    for i in range(60):
        b.observe(flow(i, float(i)), flagged=False)
    # execute
    again = Baseline(BaselineConfig(learn_flows=50, learn_s=0.0, path=path))
    probe = flow(99, 100.0, scale=20.0)
    # assert
    assert path.exists() and json.loads(path.read_text())["learned_flows"] > 40
    assert again.state == "ready"
    assert again.score(probe) == pytest.approx(b.score(probe))
    again.relearn()
    assert again.state == "learning" and not path.exists()


def test_a_corrupt_baseline_file_is_a_clear_error(tmp_path):
    path = tmp_path / "baseline.json"
    path.write_text("{not json")
    with pytest.raises(BaselineError, match="relearn"):
        Baseline(BaselineConfig(path=path))


def test_scorer_combines_rules_and_baseline_and_escalates_the_flagged_host():
    # prepare: a learned baseline; a host then hits a rule (telnet scan) in window 10
    b = Baseline(BaselineConfig(learn_flows=100, learn_s=0.0))
    for i in range(120):
        b.observe(flow(i, float(i)), flagged=False)
    scorer = EdgeScorer(RuleEngine(), b)
    scan = flow(500, 600.0, src="10.6.6.6", dst="10.0.0.50", dport=23)
    feats = list(scan.features)
    feats[FEATURE_INDEX["src_fanout_hosts"]] = 200.0
    feats[FEATURE_INDEX["syn_count"]] = 1.0
    feats[FEATURE_INDEX["fwd_payload_packets"]] = 0.0
    feats[FEATURE_INDEX["fwd_packets"]] = 1.0
    feats[FEATURE_INDEX["ack_count"]] = 0.0
    scan = scan.model_copy(update={"features": feats})
    # execute
    events = scorer.on_flow(scan)
    rule_score = scorer.last_score
    later = flow(501, 610.0, src="10.0.0.50", dst="10.6.6.6", dport=40000)  # the victim replies
    later_events = scorer.on_flow(later)
    later_score = scorer.last_score
    # assert
    assert any(e.detector == "rules" and e.family for e in events)
    assert rule_score >= 10.0
    assert later_score >= 0.9 * rule_score
    assert later_events and later_events[0].family == events[0].family
    assert later_events[0].severity == "medium"


def test_a_lone_weak_anomaly_is_a_low_event_and_repeats_are_suppressed():
    b = Baseline(BaselineConfig(learn_flows=100, learn_s=0.0))
    for i in range(120):
        b.observe(flow(i, float(i)), flagged=False)
    scorer = EdgeScorer(RuleEngine(), b)
    # execute: a flow to a new service (score 3 + a bit), twice within a minute, once later
    first = scorer.on_flow(flow(900, 1000.0, dport=8081))
    again = scorer.on_flow(flow(901, 1010.0, dport=8081))
    later = scorer.on_flow(flow(902, 1100.0, dport=8081))
    # assert
    assert [e.detector for e in first] == ["novelty"]
    assert first[0].severity == "low" and first[0].family is None
    assert again == [] and scorer.suppressed == 1
    assert len(later) == 1


def test_nothing_unsupervised_is_reported_while_learning():
    scorer = EdgeScorer(RuleEngine(), Baseline(BaselineConfig(learn_flows=1000, learn_s=0.0)))
    events = [e for i in range(50) for e in scorer.on_flow(flow(i, float(i), scale=1 + i))]
    assert events == []
    assert scorer.baseline_state == "learning"


def test_the_agent_runs_the_scorer_and_reports_its_learning_state(tmp_path):
    # prepare
    settings = AgentSettings(
        node_id="pi-1",
        source="sim:benign?seed=3&duration=120&hosts=10",
        outbox_path=tmp_path / "outbox.db",
        learn_flows=50,
        learn_hours=0.01,
    )
    scorer = load_scorer(settings)
    pipe = Pipeline("pi-1", [scorer])
    # execute
    for pkt in open_source(settings.source):
        pipe.feed(pkt)
    pipe.close()
    # assert
    assert isinstance(scorer, EdgeScorer)
    assert scorer.baseline_state == "ready"
    assert (tmp_path / "outbox.baseline.json").exists()
    assert load_scorer(settings).baseline_state == "ready"  # reloaded, not relearned


def test_benign_simulated_traffic_after_learning_raises_no_medium_event(tmp_path):
    settings = AgentSettings(
        node_id="pi-1",
        source="sim:benign?seed=5&duration=900&hosts=12",
        outbox_path=tmp_path / "outbox.db",
        learn_flows=200,
        learn_hours=300 / 3600,
    )
    scorer = load_scorer(settings)
    pipe = Pipeline("pi-1", [scorer])
    events = [e for pkt in open_source(settings.source) for e in pipe.feed(pkt)] + pipe.close()
    anomalies = [e for e in events if e.kind == "anomaly"]
    assert scorer.baseline_state == "ready"
    assert [e for e in anomalies if e.severity not in ("info", "low")] == []


def test_relearn_command_forgets_the_baseline(tmp_path, capsys):
    # prepare: an agent's learned baseline beside its outbox
    from fednids.cli import main

    outbox = tmp_path / "outbox.db"
    settings = AgentSettings(
        node_id="pi-1",
        source="sim:benign?seed=3&duration=120&hosts=10",
        outbox_path=outbox,
        learn_flows=50,
        learn_hours=0.01,
    )
    scorer = load_scorer(settings)
    pipe = Pipeline("pi-1", [scorer])
    for pkt in open_source(settings.source):
        pipe.feed(pkt)
    assert settings.baseline_file().exists()
    # execute
    code = main(["agent", "relearn", "--outbox", str(outbox)])
    # assert
    assert code == 0
    assert not settings.baseline_file().exists()
    assert "learn this network anew" in capsys.readouterr().out
    assert load_scorer(settings).baseline_state == "learning"


def test_node_status_says_learning_then_ready(tmp_path):
    from contracts.transports import open_publisher
    from edge_agent.agent import Agent

    settings = AgentSettings(
        node_id="pi-1",
        source="sim:benign?seed=3&duration=120&hosts=10",
        mqtt_url="memory://status-test",
        outbox_path=tmp_path / "outbox.db",
        learn_flows=50,
        learn_hours=0.01,
    )
    agent = Agent(settings, publisher=open_publisher(settings.mqtt_url))
    before = agent.status()
    for pkt in agent.source:
        if pkt is not None:
            agent.pipeline.feed(pkt)
    after = agent.status()
    agent.outbox.close()
    assert (before.baseline, before.baseline_progress) == ("learning", 0.0)
    assert (after.baseline, after.baseline_progress) == ("ready", 1.0)


def test_an_arp_scanner_is_flagged_and_its_ip_flows_are_escalated(tmp_path):
    # prepare: the agent's stack in a pipeline; a learned baseline; an ARP sweep by 10.0.0.66
    from edge_agent.capture import ParseStats, parse_frame
    from edge_agent.capture.frames import addr, arp_frame, mac
    from edge_agent.capture.packet import LT_ETHERNET

    settings = AgentSettings(
        node_id="pi-1", outbox_path=tmp_path / "o.db", learn_flows=100, learn_hours=0.0
    )
    scorer = load_scorer(settings)
    assert scorer.baseline is not None
    for i in range(120):
        scorer.baseline.observe(flow(i, float(i)), flagged=False)
    pipe = Pipeline("pi-1", [scorer])
    stats = ParseStats()
    frames = [
        arp_frame(
            1000.0 + k * 0.05, 1, mac("02:00:00:00:00:66"), addr("10.0.0.66"), addr(f"10.0.1.{k}")
        )
        for k in range(1, 60)
    ]
    # execute
    events = []
    for ts, data, wire, _ in frames:
        pkt = parse_frame(data, LT_ETHERNET, ts, wire, stats)
        assert pkt is not None
        events += pipe.feed(pkt)
    followup = scorer.on_flow(flow(999, 1010.0, src="10.0.0.66", dst="10.0.1.5", dport=22))
    # assert
    assert [e.rule_id for e in events if e.kind == "anomaly"] == ["arp_scan"]
    assert scorer.last_parts.get("window", 0) > 0
    assert followup and followup[0].family == "scan" and followup[0].severity == "medium"
