"""The propagation GNN: shapes forward and backward, the host graph's features and paths,
the generator's ground truth, the predictor service's outputs and the predicted-alert path."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import torch

from contracts import decode, encode
from contracts.events import AttackClassification, AttackPrediction
from contracts.features import FLOW_FEATURES
from contracts.transports.memory import MemoryBroker
from hub.services.alerting import AlertingService
from hub.services.gnn import FEATURES, HostGraph, Predictor, SageNet, heuristic_scores
from hub.services.gnn_service import GnnService
from hub.services.gnn_train import snapshots, train
from hub.services.propagation_sim import simulate
from hub.services.runtime import ServiceRuntime
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
    assert [a.incident_key for a in out] == ["predicted-botnet:10.0.0.9"]
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
