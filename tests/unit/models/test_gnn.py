"""The propagation GNN: shapes forward and backward, the host graph's features and paths,
the generator's ground truth, the predictor service's outputs and the predicted-alert path."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import torch

from contracts import decode, encode
from contracts.events import (
    AnomalyEvent,
    AttackClassification,
    AttackPrediction,
    EventBase,
    FlowRecord,
)
from contracts.features import FLOW_FEATURES
from contracts.transports.memory import MemoryBroker
from hub.services.alerting import AlertingService
from hub.services.gnn_service import EventClock, GnnService
from hub.services.runtime import ServiceRuntime
from hub.services.settings import ServicesSettings
from models.gnn.model import (
    FEATURES,
    HostGraph,
    Predictor,
    SageNet,
    candidates,
    heuristic_scores,
    load_predictor,
    platt,
)
from models.gnn.propagation_sim import simulate
from models.gnn.train import snapshots, train
from tests.unit.contracts.samples import flow


def _chain() -> HostGraph:
    g = HostGraph()
    g.add_flow("10.0.0.1", "10.0.0.2", 23, 500, 0)
    g.add_flow("10.0.0.2", "10.0.0.3", 23, 500, 0)
    g.add_flow("10.0.0.3", "10.0.0.4", 445, 500, 0)
    g.add_attack("203.0.113.9", "10.0.0.1", 1)
    g.add_attack("10.0.0.1", "10.0.0.2", 2)
    g.add_attack("10.0.0.2", "10.0.0.3", 3)
    return g


def test_forward_backward_shapes():
    g = _chain()
    net = SageNet(len(FEATURES), hidden=16, layers=2)
    x, ei = torch.from_numpy(g.features()), torch.from_numpy(g.edge_index())
    out = net(x, ei)
    assert x.shape == (5, len(FEATURES)) and ei.shape[0] == 2 and out.shape == (5,)
    out.sum().backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in net.parameters())


def test_graph_marks_compromised_and_explains_the_path():
    g = _chain()
    comp = dict(zip(g.hosts, g.compromised(), strict=True))
    assert comp["10.0.0.1"] and comp["10.0.0.2"] and not comp["10.0.0.3"]
    assert not comp["203.0.113.9"]  # external attackers are not "compromised hosts"
    assert g.path_to(g.index["10.0.0.3"]) == ["203.0.113.9", "10.0.0.1", "10.0.0.2", "10.0.0.3"]
    assert g.path_to(g.index["10.0.0.4"])[-2:] == ["10.0.0.3", "10.0.0.4"] or g.path_to(
        g.index["10.0.0.4"]
    ) == ["10.0.0.4"]
    assert heuristic_scores(g).shape == (5,)


def test_generator_ground_truth_is_a_chain_from_patient_zero():
    sc = simulate(3, kind="worm")
    infections = [i for st in sc.steps for i in st.infections]
    victims = [v for _, v in infections]
    assert len(victims) == len(set(victims)) >= 1
    seen = {infections[0][0]}
    for by, victim in infections:
        assert by in seen  # every infector was infected before
        seen.add(victim)
    assert simulate(3, kind="worm").steps[5].flows == sc.steps[5].flows  # seeded


_TINY: list[Predictor] = []


def _tiny_predictor() -> Predictor:
    if not _TINY:
        snaps = [s for seed in range(3) for s in snapshots(simulate(seed))]
        _TINY.append(Predictor(train(snaps, 1, 0, hidden=16, layers=2), {"trained_at": 1}))
    return _TINY[0]


def test_predictor_service_emits_ranked_predictions_with_paths():
    pred = _tiny_predictor()
    svc = GnnService(pred, every_s=1.0, top_k=3, min_p=0.0)
    t0 = 1_700_000_000.0
    feats = [0.0] * len(FLOW_FEATURES)
    flows = [
        flow(
            "pi-1",
            flow_id=f"f{i}",
            src_ip=f"10.0.0.{i}",
            dst_ip=f"10.0.0.{i + 1}",
            dst_port=23,
            features=feats,
            start_ts=t0,
            end_ts=t0 + 1,
        )
        for i in range(1, 8)
    ]
    cls = [
        AttackClassification(
            node_id="pi-1",
            family="botnet",
            confidence=0.9,
            src_ip=f"10.0.0.{i}",
            dst_ip=f"10.0.0.{i + 1}",
            ts=datetime.fromtimestamp(t0 + 2 + i, UTC),
        )
        for i in (1, 2)
    ]
    out = svc.handle([*flows, *cls])
    assert 1 <= len(out) <= 3 and all(isinstance(p, AttackPrediction) for p in out)
    hosts = [p.target_host for p in out]
    assert "10.0.0.1" not in hosts and "10.0.0.2" not in hosts  # already seen attacking
    for p in out:
        assert 0.0 <= p.probability <= 1.0 and p.path[-1] == p.target_host
        assert p.predictor == "gnn" and p.severity in ("low", "medium", "high", "critical")
    p3 = next((p for p in out if p.target_host == "10.0.0.3"), None)
    if p3 is not None:
        assert p3.path == ["10.0.0.1", "10.0.0.2", "10.0.0.3"] and p3.family == "botnet"
    assert svc.handle(cls) == []  # not again within the horizon


def test_confident_prediction_opens_a_predicted_incident_once():
    svc = AlertingService()
    ts = datetime(2026, 1, 1, tzinfo=UTC)
    p = AttackPrediction(
        node_id="hub",
        target_host="10.0.0.9",
        probability=0.9,
        severity="high",
        family="botnet",
        path=["10.0.0.1", "10.0.0.9"],
        ts=ts,
    )
    out = svc.handle([p, p, p])
    # one predicted incident per spreading host (the path's source), naming the next target
    assert [a.incident_key for a in out] == ["predicted-botnet:10.0.0.1"]
    assert out[0].targets == ["10.0.0.9"]
    assert not out[0].escalated and "10.0.0.1 -> 10.0.0.9" in out[0].description


def test_gnn_runtime_dead_letters_bad_input():
    MemoryBroker.reset("gnn")
    broker = MemoryBroker.named("gnn")
    pub = broker.publisher()
    pub.publish("attack_classified", b"\x00\x01")
    pub.publish("network_data", encode(flow()))
    svc = GnnService(_tiny_predictor())
    rt = ServiceRuntime(svc, broker.subscriber(list(svc.inputs), svc.name), broker.publisher())
    while rt.step(0.05):
        pass
    assert len(broker.messages("dead_letter")) == 1 and rt.handled == 1
    assert [decode(m.value) for m in broker.messages("attack_predicted")] == []
    assert np.isfinite(rt.handled)


# ---------------------------------------------------------------- real-like traffic, event time
_T0 = 1_615_738_950.0  # capture time of a replayed 2021 capture: years behind the hub's clock
_LAN = [f"192.168.5.{i}" for i in range(10, 30)]
_BOT, _SERVER = "192.168.5.16", "192.168.5.2"


def _lan_flows(t0: float) -> list[FlowRecord]:
    """Benign background: every host talks to the LAN's server; the bot to six peers."""
    feats = [0.0] * len(FLOW_FEATURES)
    feats[FLOW_FEATURES.index("fwd_bytes")] = 1200.0
    out = [
        flow(
            "pi-1",
            flow_id=f"b{i}",
            src_ip=h,
            dst_ip=_SERVER,
            dst_port=80,
            features=feats,
            start_ts=t0 + i,
            end_ts=t0 + i + 1,
        )
        for i, h in enumerate(_LAN)
    ]
    out += [
        flow(
            "pi-1",
            flow_id=f"p{i}",
            src_ip=_BOT,
            dst_ip=h,
            dst_port=445,
            features=feats,
            start_ts=t0 + 30 + i,
            end_ts=t0 + 31 + i,
        )
        for i, h in enumerate(_LAN[-6:])
    ]
    return out


def _scan(t0: float, targets: list[str]) -> list[EventBase]:
    """The bot probes ``targets`` on telnet: a flow each and the classifier's verdict, whose
    ``ts`` is the hub's wall clock (as ``ClassifierService`` emits it), not capture time."""
    out: list[EventBase] = []
    for i, h in enumerate(targets):
        f = flow(
            "pi-1",
            flow_id=f"s{h}",
            src_ip=_BOT,
            dst_ip=h,
            dst_port=23,
            start_ts=t0 + i,
            end_ts=t0 + i + 0.5,
        )
        out.append(f)
        out.append(
            AttackClassification(
                node_id="pi-1",
                family="botnet",
                confidence=0.9,
                flow_id=f.flow_id,
                src_ip=_BOT,
                dst_ip=h,
                dst_port=23,
            )
        )
    return out


def _shipped() -> Predictor:
    return load_predictor(ServicesSettings().gnn_model)


def test_scan_by_one_source_predicts_unscanned_neighbours_in_event_time():
    # prepare: a LAN in capture time, the bot scans ten hosts 100 s later
    svc = GnnService(_shipped(), every_s=10.0, top_k=16, min_p=0.2)
    scanned = [h for h in _LAN if h != _BOT][:10]
    # execute
    out = svc.handle([*_lan_flows(_T0), *_scan(_T0 + 100, scanned)])
    # assert: predictions, made at capture time (the hub's clock is years later)
    preds = [p for p in out if isinstance(p, AttackPrediction)]
    assert preds, "no prediction for a host scanned by a compromised neighbour"
    assert abs(svc.now - (_T0 + 110)) < 1.0
    g = svc.last_graph
    assert {*scanned, _BOT, _SERVER} <= set(g.hosts)  # benign flows are still in the window
    targets = {p.target_host for p in preds}
    assert _BOT not in targets
    unscanned_peers = set(_LAN[-6:]) - set(scanned) - {_BOT}
    assert targets & unscanned_peers, (targets, unscanned_peers)
    for p in preds:
        assert p.path[0] == _BOT and p.path[-1] == p.target_host and p.family == "botnet"
        assert 0.2 <= p.probability <= 1.0


def test_event_far_in_the_future_cannot_blind_the_predictor():
    # prepare: the LAN, then one flow stamped a day ahead and one from the year 2096
    svc = GnnService(_shipped(), every_s=10.0, top_k=5, min_p=0.2)
    svc.handle(_lan_flows(_T0))
    ahead = [
        flow(
            "pi-9",
            flow_id="bad1",
            src_ip="192.168.5.99",
            dst_ip=_SERVER,
            start_ts=_T0 + 86_400,
            end_ts=_T0 + 86_401,
        ),
        flow(
            "pi-9",
            flow_id="bad2",
            src_ip="192.168.5.98",
            dst_ip=_SERVER,
            start_ts=4_000_000_000.0,
            end_ts=4_000_000_001.0,
        ),
    ]
    # execute
    svc.handle(ahead)
    out = svc.handle(_scan(_T0 + 100, [h for h in _LAN if h != _BOT][:10]))
    # assert: the clock stayed in capture time, nothing aged out, predictions still come
    assert svc.now < _T0 + 200 and svc.clock.held == 2
    assert _SERVER in svc.last_graph.hosts and len(svc.last_graph.hosts) >= len(_LAN) + 1
    assert any(isinstance(p, AttackPrediction) for p in out)


def test_event_clock_follows_a_confirmed_gap_but_not_one_stray_time():
    # prepare
    clock = EventClock(max_ahead_s=600.0, confirm=3, wall=lambda: 2_000_000_000.0)
    # execute / assert: normal progress, one stray jump held, a confirmed gap taken
    assert clock.observe(1000.0) == 1000.0 and clock.observe(1500.0) == 1500.0
    assert clock.observe(900.0) == 900.0 and clock.now == 1500.0  # late events keep their time
    assert clock.observe(50_000.0) == 1500.0 and clock.now == 1500.0  # held
    assert clock.observe(90_000.0) == 1500.0
    assert clock.observe(90_010.0) == 1500.0
    assert clock.observe(90_020.0) == 90_020.0 and clock.now == 90_020.0  # three agree: a gap
    assert clock.observe(3e9) == 90_020.0 and clock.observe(float("nan")) == 90_020.0
    assert clock.held == 5


def test_rule_anomaly_seeds_the_graph_and_verdict_times_come_from_their_flows():
    # prepare: a flow in capture time and a rule's anomaly on it (ts = the agent's wall clock)
    svc = GnnService(_shipped(), every_s=10.0, min_p=0.0)
    f = flow(
        "pi-1",
        flow_id="x1",
        src_ip=_BOT,
        dst_ip="192.168.5.40",
        dst_port=23,
        start_ts=_T0,
        end_ts=_T0 + 2,
    )
    a = AnomalyEvent(
        node_id="pi-1",
        detector="rules",
        rule_id="telnet-scan",
        score=1.0,
        threshold=0.5,
        family="scan",
        flow_id="x1",
        src_ip=_BOT,
        dst_ip="192.168.5.40",
    )
    u = AnomalyEvent(
        node_id="pi-1",
        detector="iforest",
        score=1.0,
        threshold=0.5,
        src_ip="192.168.5.41",
        dst_ip="192.168.5.42",
    )
    # execute
    svc.handle([f, a, u])
    # assert: the rule's verdict is an attack at the flow's end; the unlabelled one is not
    assert svc.attacks[(_BOT, "192.168.5.40")][1] == _T0 + 2
    assert ("192.168.5.41", "192.168.5.42") not in svc.attacks
    assert svc.last_graph.compromised()[svc.last_graph.index[_BOT]]


def test_graph_stays_bounded(monkeypatch):
    # prepare: tiny bounds
    import hub.services.gnn_service as gs

    monkeypatch.setattr(gs, "MAX_EDGES", 50)
    monkeypatch.setattr(gs, "MAX_FLOW_IDS", 60)
    svc = GnnService(_tiny_predictor())
    # execute: 500 distinct edges
    svc.handle(
        [
            flow(
                "pi-1",
                flow_id=f"e{i}",
                src_ip="10.1.0.1",
                dst_ip=f"10.1.{i // 250}.{i % 250 + 2}",
                start_ts=_T0 + i,
                end_ts=_T0 + i,
            )
            for i in range(500)
        ]
    )
    # assert: the newest are kept
    assert len(svc.flows) == 50 and len(svc._flow_end) == 60
    assert ("10.1.0.1", "10.1.1.251", 443) in svc.flows


def test_platt_calibration_is_monotone_and_matches_rates():
    # prepare: logits whose true positive rate rises with the logit
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, 4000)
    y = rng.random(4000) < 1 / (1 + np.exp(-(0.5 * z - 1)))
    # execute
    cal = platt(z, y)
    # assert: recovers the slope and offset roughly
    assert abs(cal["a"] - 0.5) < 0.1 and abs(cal["b"] + 1) < 0.15


def test_outside_target_of_a_compromised_host_is_a_candidate():
    # prepare: a bot on the LAN probes an internet host; a spoofed outside source attacks it
    g = HostGraph()
    g.add_attack("192.168.5.16", "198.51.100.7", 1)
    g.add_attack("198.51.100.8", "192.168.5.16", 1)
    g.add_flow("198.51.100.9", "192.168.5.3", 443, 100, 1)
    # execute
    cand = dict(zip(g.hosts, candidates(g), strict=True))
    # assert
    assert cand["198.51.100.7"] and cand["192.168.5.3"]
    assert not cand["192.168.5.16"] and not cand["198.51.100.8"] and not cand["198.51.100.9"]
