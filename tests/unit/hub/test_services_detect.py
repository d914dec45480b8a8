"""anomaly-iforest and threat-classifier on memory://: cross-node evidence, the vote join
(per flow and per host window), classification outputs, dead letters."""

from __future__ import annotations

import numpy as np
import pytest

from contracts import decode, encode
from contracts.deadletter import read_dead_letter
from contracts.events import AnomalyEvent, AttackClassification, FlowRecord
from contracts.features import FLOW_FEATURES
from contracts.transports.memory import MemoryBroker
from hub.errors import HubError
from hub.services.classifier_service import EARLY, ClassifierService
from hub.services.iforest_service import IForestService, NodeLearning
from hub.services.runtime import ServiceRuntime
from models.errors import ModelError
from models.iforest import IForestConfig, train_iforest
from tests.unit.contracts.samples import flow

NF = len(FLOW_FEATURES)


@pytest.fixture(scope="module")
def forest():  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    return train_iforest(np.abs(rng.normal(10, 1, size=(600, NF))), IForestConfig())


def _f(
    i: int, node: str = "pi-1", src: str = "10.0.0.66", hot: bool = False, t: float = 0.0
) -> FlowRecord:
    feats = [1e6 if hot else 10.0] * NF
    return flow(
        node,
        flow_id=f"f-{node}-{i}",
        src_ip=src,
        features=feats,
        start_ts=1_700_000_000.0 + t,
        end_ts=1_700_000_001.0 + t,
    )


def test_iforest_flags_outliers_and_counts_sensors_seeing_the_source(forest):  # type: ignore[no-untyped-def]
    svc = IForestService(forest)
    out = svc.handle([_f(1, "pi-1", hot=True), _f(2, "pi-2", hot=True), _f(3, "pi-3")])
    assert [a.flow_id for a in out] == ["f-pi-1-1", "f-pi-2-2"]
    assert all(isinstance(a, AnomalyEvent) and a.detector == "iforest" for a in out)
    assert out[0].severity == "low" and out[1].severity == "medium"
    assert out[1].evidence["sensors_seeing_source"] == 2


def test_an_iforest_verdict_carries_its_flow_s_community_id(forest):  # type: ignore[no-untyped-def]
    # prepare: a sensor's flow with its Community ID (the SOC's join key)
    cid = "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
    hot = _f(1, "pi-1", hot=True).model_copy(update={"community_id": cid})
    # execute
    out = IForestService(forest).handle([hot])
    # assert: the hub's verdict about the flow can be joined with the sensor's records
    assert [(a.flow_id, a.community_id) for a in out] == [("f-pi-1-1", cid)]
    assert (out[0].src_ip, out[0].window_end) == (hot.src_ip, hot.end_ts)


def _node_flows(node: str, n: int, start: int = 0, t: float = 0.0) -> list[FlowRecord]:
    """``n`` ordinary flows of one node (features near 10, varied by a fixed seed)."""
    rng = np.random.default_rng(start + 7)
    return [
        flow(
            node,
            flow_id=f"f-{node}-{start + i}",
            src_ip="10.0.0.7",
            features=[float(v) for v in np.abs(rng.normal(10, 1, size=NF))],
            start_ts=1_700_000_000.0 + t + i,
            end_ts=1_700_000_001.0 + t + i,
        )
        for i in range(n)
    ]


def _hot(node: str, i: int, scale: float = 1e6) -> FlowRecord:
    return _f(i, node, src="10.0.0.99").model_copy(update={"features": [scale] * NF})


def test_iforest_raises_nothing_while_a_node_learns_then_uses_its_own_model(forest):  # type: ignore[no-untyped-def]
    svc = IForestService(forest, NodeLearning(flows=120, n_estimators=50))
    learning = _node_flows("pi-1", 110) + [_hot("pi-1", 900 + k) for k in range(3)]

    during = svc.handle(learning)
    status = svc.baselines.status("pi-1") if svc.baselines else None
    rest = svc.handle([*_node_flows("pi-1", 7, start=500), _hot("pi-1", 999)])
    after = svc.handle([*_node_flows("pi-1", 200, start=1000, t=500.0), _hot("pi-1", 998)])

    assert during == [] and status == ("learning", 113 / 120)
    assert svc.baselines is not None and svc.baselines.status("pi-1") == ("ready", 1.0)
    assert [a.flow_id for a in rest] == ["f-pi-1-999"]  # the flows past the period are scored
    assert "f-pi-1-998" in {a.flow_id for a in after}
    assert all(a.evidence["model"] == "node" for a in rest + after)
    assert len(after) <= 1 + 20  # a few % of its ordinary flows (120 learning flows: noisy)
    model = svc.baselines.nodes["pi-1"].model
    assert model is not None and model.meta["trimmed_flows"] >= 1  # the hot flows were trimmed
    assert model.meta["node_id"] == "pi-1" and model.threshold < 1.0


def test_iforest_baselines_survive_a_restart(forest, tmp_path):  # type: ignore[no-untyped-def]
    cfg = NodeLearning(flows=100, n_estimators=50, state_dir=tmp_path / "state")
    svc = IForestService(forest, cfg)
    svc.handle(_node_flows("pi-1", 100) + _node_flows("pi-2", 40))
    svc.close()  # writes pi-2's unfinished learning period

    again = IForestService(forest, cfg)

    assert again.baselines is not None
    assert again.baselines.status("pi-1") == ("ready", 1.0)
    assert again.baselines.status("pi-2") == ("learning", 0.4)
    one, two = svc.baselines.nodes["pi-1"].model, again.baselines.nodes["pi-1"].model  # type: ignore[union-attr]
    assert one is not None and two is not None and two.threshold == one.threshold
    x = np.full((2, NF), 10.0)
    assert np.allclose(one.score(x), two.score(x))
    assert again.handle(_node_flows("pi-2", 59, start=100)) == []
    assert again.baselines.status("pi-2") == ("learning", 0.99)
    again.handle([_hot("pi-2", 5000)])
    assert again.baselines.status("pi-2") == ("ready", 1.0)
    assert (tmp_path / "state" / "pi-2" / "model.joblib").is_file()
    assert not (tmp_path / "state" / "pi-2" / "learning.npy").exists()
    blob = tmp_path / "state" / "pi-1" / "model.joblib"
    blob.write_bytes(blob.read_bytes()[:-8] + b"tampered")
    third = IForestService(forest, cfg)  # a damaged model is refused: that node learns again
    assert third.baselines is not None and third.baselines.status("pi-1") == ("learning", 0.0)


def test_iforest_node_range_guard_names_the_feature_past_the_learned_range(forest, tmp_path):  # type: ignore[no-untyped-def]
    svc = IForestService(forest, NodeLearning(flows=200, n_estimators=50, state_dir=tmp_path))
    svc.handle(_node_flows("pi-1", 200))
    odd = _node_flows("pi-1", 1, start=7000)[0]
    feats = list(odd.features)
    feats[FLOW_FEATURES.index("src_distinct_dst_ports")] = 400.0  # ordinary elsewhere
    model = svc.baselines.nodes["pi-1"].model  # type: ignore[union-attr]

    out = svc.handle([odd.model_copy(update={"features": feats, "flow_id": "f-odd"})])

    assert model is not None and model.upper is not None
    assert model.score(np.asarray([odd.features]))[0] <= model.threshold  # the forest alone
    assert [a.flow_id for a in out] == ["f-odd"]
    assert out[0].evidence["beyond_learned_range"] == "src_distinct_dst_ports"
    assert out[0].score > out[0].threshold
    again = IForestService(forest, NodeLearning(flows=200, state_dir=tmp_path))
    reloaded = again.baselines.nodes["pi-1"].model  # type: ignore[union-attr]
    assert reloaded is not None and np.allclose(reloaded.upper, model.upper)  # type: ignore[arg-type]
    assert forest.upper is None and forest.beyond_range(np.asarray([feats])) == [None]


def test_iforest_node_cap_falls_back_to_the_shipped_model(forest):  # type: ignore[no-untyped-def]
    svc = IForestService(forest, NodeLearning(flows=60, max_nodes=1, n_estimators=25))
    svc.handle(_node_flows("pi-1", 10))

    out = svc.handle([_hot("pi-2", 1), _hot("pi-1", 2)])

    assert [a.flow_id for a in out] == ["f-pi-2-1"]
    assert out[0].evidence["model"] == "shipped" and out[0].threshold == forest.threshold
    assert svc.baselines is not None and set(svc.baselines.nodes) == {"pi-1"}
    assert svc.baselines.status("pi-2") == ("off", None)
    with pytest.raises(ModelError, match="at least 50"):
        IForestService(forest, NodeLearning(flows=10))
    assert IForestService(forest, NodeLearning(flows=0)).baselines is None


class _Stub:
    """A tiny fitted model with the ThreatClassifier interface (votes decide in this fixture)."""

    def __init__(self) -> None:
        from sklearn.linear_model import LogisticRegression

        rng = np.random.default_rng(1)
        x = rng.integers(0, 2, size=(400, 4)).astype(float)
        y = (x.sum(axis=1) >= 1).astype(int)
        self.lr = LogisticRegression().fit(x, y)

    def predict(self, x_features, votes):  # type: ignore[no-untyped-def]
        p = self.lr.predict_proba(votes)[:, 1]
        fam = ["scan" if q >= 0.5 else "benign" for q in p]
        conf = np.where(p >= 0.5, p, 1 - p)
        tops = [[(FLOW_FEATURES[0], float(r[0]), 0.5)] for r in x_features]
        return fam, conf, tops


def _vote(det: str, fid: str | None = None, src: str = "10.0.0.66", t: float = 0.0) -> AnomalyEvent:
    return AnomalyEvent(
        node_id="pi-1",
        detector=det,
        score=1.0,
        threshold=0.5,
        flow_id=fid,
        src_ip=src,
        window_start=1_700_000_000.0 + t,
        window_end=1_700_000_001.0 + t,
        rule_id="telnet_scan" if det == "rules" else None,
    )


def test_classifier_joins_flow_and_host_votes_and_emits_why():
    svc = ClassifierService(_Stub(), hold_s=5.0)
    out = svc.handle(
        [
            _f(1),
            _f(2, src="10.0.0.7"),
            _vote("iforest", "f-pi-1-1"),
            _vote("rules", "f-pi-1-1"),
            _vote("lstm", None, "10.0.0.66"),
        ]
    )
    # all three detectors voted on f-1: released at once; f-2 has no vote yet
    assert len(out) == 1 and isinstance(out[0], AttackClassification)
    c = out[0]
    assert c.flow_id == "f-pi-1-1" and c.family == "scan" and list(c.detectors) == sorted(EARLY)
    assert c.rule_ids == ["telnet_scan"] and len(c.anomaly_ids) == 3
    assert 0.5 <= c.confidence <= 1.0 and c.top_features[0].name == FLOW_FEATURES[0]
    # a flow with no vote is dropped when the window passes; a later vote for an early flow waits
    later = svc.handle([_vote("iforest", "f-pi-1-9", t=1.0), _f(9, t=1.0), _f(10, t=60.0)])
    assert [c.flow_id for c in later] == ["f-pi-1-9"]
    assert svc.flush() == []


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_classifier_waits_for_votes_read_after_a_burst_of_flows():
    # prepare: a burst of flows spanning 40 s of event time is read before its votes
    clock = _Clock()
    svc = ClassifierService(_Stub(), hold_s=5.0, grace_s=2.0, clock=clock)
    flows = [_f(i, t=float(i)) for i in range(40)]
    # execute: the flows first, the votes in the next batch (the other topic), within the grace
    first = svc.handle(flows)
    clock.t = 1.5
    joined = svc.handle([_vote("rules", f"f-pi-1-{i}") for i in range(10)])
    # assert: nothing released before a vote, then every voted flow is classified once
    assert first == []
    assert sorted(c.flow_id for c in joined) == sorted(f"f-pi-1-{i}" for i in range(10))  # type: ignore[attr-defined]
    assert svc.flush() == []


def test_classifier_drops_unvoted_flows_after_the_grace_and_late_votes_find_nothing():
    # prepare
    clock = _Clock()
    svc = ClassifierService(_Stub(), hold_s=5.0, grace_s=2.0, clock=clock)
    svc.handle([_f(i, t=float(i)) for i in range(40)])
    # execute: a later batch past the grace drops the unvoted flows; then a vote comes
    clock.t = 3.0
    assert svc.handle([_f(99, t=41.0)]) == []
    clock.t = 3.5
    late = svc.handle([_vote("rules", "f-pi-1-0")])
    # assert: the vote found no flow (it waits as an orphan for its grace, then goes)
    assert late == []
    clock.t = 10.0
    assert svc.handle([_f(100, t=100.0)]) == []
    assert svc._orphans == [] and "f-pi-1-0" not in svc._by_src.get("10.0.0.66", [])


def test_a_host_vote_outside_a_waiting_flow_s_time_does_not_release_it():
    # prepare: flows of one host past the window, waiting for votes
    class _AlwaysScan:  # would call anything it is given an attack
        def predict(self, x, votes):  # type: ignore[no-untyped-def]
            return ["scan"] * len(votes), np.full(len(votes), 0.9), [[] for _ in votes]

    clock = _Clock()
    svc = ClassifierService(_AlwaysScan(), hold_s=5.0, grace_s=2.0, clock=clock)
    svc.handle([_f(i, t=float(i)) for i in range(40)])
    # execute: a host-window vote for the same source, 100 s after every waiting flow
    out = svc.handle([_vote("lstm", None, "10.0.0.66", t=100.0)])
    # assert: no flow was classified without a vote of its own
    assert out == []
    assert svc.flush() == []


def test_classifier_joins_a_vote_read_before_its_flow():
    # prepare
    clock = _Clock()
    svc = ClassifierService(_Stub(), hold_s=5.0, grace_s=2.0, clock=clock)
    # execute: the vote (event time unknown to the service yet), then its flow far later
    assert svc.handle([_vote("rules", "f-pi-1-7", t=0.0)]) == []
    clock.t = 1.0
    out = svc.handle([_f(7, t=0.0), _f(8, t=30.0)])
    # assert
    assert [c.flow_id for c in out] == ["f-pi-1-7"]  # type: ignore[attr-defined]


def test_classifier_runtime_dead_letters_wrong_kinds_and_keeps_going():
    MemoryBroker.reset("cls")
    broker = MemoryBroker.named("cls")
    pub = broker.publisher()
    pub.publish("network_data", encode(_f(1)))
    pub.publish("anomalies", b"{not json")
    pub.publish("anomalies", encode(_vote("rules", "f-pi-1-1")))
    pub.publish("network_data", encode(_f(2, t=100.0)))
    svc = ClassifierService(_Stub(), hold_s=5.0)
    rt = ServiceRuntime(svc, broker.subscriber(list(svc.inputs), svc.name), broker.publisher())
    while rt.step(0.05):
        pass
    out = [decode(m.value) for m in broker.messages("attack_classified")]
    dead = [read_dead_letter(m.value) for m in broker.messages("dead_letter")]
    assert [c.flow_id for c in out] == ["f-pi-1-1"]
    assert (
        len(dead) == 1
        and dead[0]["payload"] == b"{not json"
        and dead[0]["source_topic"] == "anomalies"
    )


def test_classifier_takes_its_vote_columns_from_the_loaded_model():
    # prepare: a model whose artifact records another vote order than the training default
    class _Ordered:
        votes = ("iforest", "rules", "lstm", "novelty")
        seen: list[np.ndarray] = []

        def predict(self, x, votes):  # type: ignore[no-untyped-def]
            self.seen.append(votes)
            return ["scan"] * len(votes), np.full(len(votes), 0.9), [[] for _ in votes]

    model = _Ordered()
    svc = ClassifierService(model, hold_s=5.0)
    # execute: one rules vote
    out = svc.handle([_f(1), _vote("rules", "f-pi-1-1")]) + svc.flush()
    # assert: the rules vote is in the model's own "rules" column; a bad record is refused
    assert len(out) == 1 and svc.voters == _Ordered.votes
    assert model.seen[0].tolist() == [[0.0, 1.0, 0.0, 0.0]]

    class _Bad(_Ordered):
        votes = ("rules", "snort")

    with pytest.raises(HubError, match="snort"):
        ClassifierService(_Bad())
