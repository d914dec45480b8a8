"""Issue 15 item 2: a node's clock never drives the hub's analytics.

One node (``pi-9``, a stolen sensor with a valid certificate) sends contract-valid events
dated in the year 2099 (the contracts allow up to 2100), or a day ahead, or reuses another
node's flow ids; the good node's attack traffic must be classified, scored, predicted and
alerted exactly as without it."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from contracts.events import (
    AlertEvent,
    AnomalyEvent,
    AttackClassification,
    AttackPrediction,
    EventBase,
    FlowRecord,
)
from contracts.features import FLOW_FEATURES
from hub.services.alerting import AlertingService
from hub.services.classifier_service import ClassifierService
from hub.services.eventtime import FleetClock
from hub.services.gnn_service import GnnService
from hub.services.iforest_service import IForestService
from hub.services.settings import ServicesSettings
from models.gnn.model import load_predictor
from models.iforest import IForestConfig, train_iforest
from tests.unit.contracts.samples import flow

NF = len(FLOW_FEATURES)
Y2099 = datetime(2099, 6, 1, tzinfo=UTC).timestamp()
T = 1_700_000_000.0  # the good node's capture time (2023), behind the hub's clock


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class _Votes:
    """Calls a flow ``scan`` when a rule or two detectors voted, else benign."""

    def predict(self, x, votes):  # type: ignore[no-untyped-def]
        fam = ["scan" if v[0] or v.sum() >= 2 else "benign" for v in votes]
        return fam, np.full(len(votes), 0.9), [[] for _ in votes]


def _good(i: int, t: float) -> FlowRecord:
    return flow("pi-1", flow_id=f"g{i}", src_ip="10.0.0.66", start_ts=T + t, end_ts=T + t + 1)


def _evil(fid: str = "evil", t: float = Y2099, src: str = "10.0.0.66") -> FlowRecord:
    return flow("pi-9", flow_id=fid, src_ip=src, start_ts=t, end_ts=t + 1)


def _vote(det: str, fid: str | None, t: float, node: str = "pi-1") -> AnomalyEvent:
    return AnomalyEvent(
        node_id=node,
        detector=det,  # type: ignore[arg-type]
        score=1.0,
        threshold=0.5,
        flow_id=fid,
        src_ip="10.0.0.66",
        window_start=t,
        window_end=t + 1,
        rule_id="telnet_scan" if det == "rules" else None,
    )


def _classify(extra_first: list[FlowRecord], extra_votes: list[AnomalyEvent]) -> list[tuple]:  # type: ignore[type-arg]
    """The good node's flows, their votes read 3 s (processing time) later, a later flow;
    what the service emits while running."""
    clock = _Clock()
    svc = ClassifierService(_Votes(), hold_s=5.0, grace_s=2.0, clock=clock)
    out = svc.handle([*extra_first, *(_good(i, float(i)) for i in range(5))])
    clock.t = 2.5  # another good node's flow is read; the votes are 3 s behind their flows
    out += svc.handle([flow("pi-2", flow_id="o1", start_ts=T + 1, end_ts=T + 2)])
    clock.t = 3.0  # past the processing-time grace: only the event-time window holds them
    out += svc.handle([*extra_votes, *(_vote("rules", f"g{i}", T + i) for i in range(5))])
    out += svc.handle([_good(20, 30.0)])  # its event time closes the first flows' window
    # (no flush: a live service never ends, so what a hostile flow holds back is never sent)
    return sorted(
        (c.node_id, c.flow_id, c.family, tuple(c.detectors))
        for c in out
        if isinstance(c, AttackClassification) and c.node_id == "pi-1"
    )


def test_a_flow_dated_2099_does_not_change_the_other_nodes_classifications() -> None:
    # prepare: the good node's run alone
    alone = _classify([], [])
    # execute: the same with one 2099 flow from another node read first
    hostile = _classify([_evil()], [])
    # assert: every voted flow classified, identically
    assert [r[1] for r in alone] == [f"g{i}" for i in range(5)]
    assert hostile == alone


def test_another_node_reusing_flow_ids_and_host_votes_cannot_touch_the_good_flows() -> None:
    # prepare
    alone = _classify([], [])
    # execute: pi-9 sends a flow with a good flow's id and votes on the good node's source
    hostile = _classify(
        [_evil("g3", T + 3.0)],
        [_vote("lstm", None, T + 2.0, node="pi-9"), _vote("iforest", "g1", T + 1, node="pi-9")],
    )
    # assert: the good node's verdicts are its own (no pi-9 vote joined, no flow replaced)
    assert hostile == alone


def test_fleet_clock_holds_future_times_and_keeps_nodes_apart() -> None:
    # prepare: the hub's clock is fixed; two nodes
    mono = _Clock()
    clocks = FleetClock(wall=lambda: T + 100.0, monotonic=mono)
    # execute
    assert clocks.observe("pi-1", T) == T
    assert clocks.observe("pi-2", T + 1.0) == T + 1.0
    assert clocks.observe("pi-9", Y2099) == T + 1.0  # held: placed at its node's start (fleet's)
    assert clocks.observe("pi-9", T + 50.0) == T + 50.0
    # assert: a held time moved nothing; each node keeps its own clock; the upper median of
    # three clocks is not moved by the one ahead
    assert clocks.node_now("pi-1") == T and clocks.node_now("pi-9") == T + 50.0
    assert clocks.held == 1 and clocks.age("pi-1", T - 10.0) == 10.0
    assert clocks.now == T + 1.0


@pytest.fixture(scope="module")
def forest():  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    return train_iforest(np.abs(rng.normal(10, 1, size=(600, NF))), IForestConfig())


def test_a_2099_sighting_does_not_raise_the_good_nodes_iforest_severity(forest) -> None:  # type: ignore[no-untyped-def]
    # prepare: pi-9 claims to have seen the source, dated 2099
    svc = IForestService(forest)
    svc.handle([_evil()])
    # execute: the good node's anomalous flow from the same source, now
    hot = flow("pi-1", flow_id="h", src_ip="10.0.0.66", features=[1e6] * NF, end_ts=T + 1)
    out = svc.handle([hot])
    # assert: one sensor saw it in the window (the 2099 sighting is not "recent")
    assert len(out) == 1 and isinstance(out[0], AnomalyEvent)
    assert out[0].evidence["sensors_seeing_source"] == 1 and out[0].severity == "low"


def _lan(node: str, t0: float, prefix: str) -> list[EventBase]:
    feats = [0.0] * NF
    feats[FLOW_FEATURES.index("fwd_bytes")] = 1200.0
    hosts = [f"{prefix}.{i}" for i in range(10, 30)]
    out: list[EventBase] = [
        flow(
            node,
            flow_id=f"{node}b{i}",
            src_ip=h,
            dst_ip=f"{prefix}.2",
            dst_port=80,
            features=feats,
            start_ts=t0 + i,
            end_ts=t0 + i + 1,
        )
        for i, h in enumerate(hosts)
    ]
    out += [
        flow(
            node,
            flow_id=f"{node}p{i}",
            src_ip=f"{prefix}.16",
            dst_ip=h,
            dst_port=445,
            features=feats,
            start_ts=t0 + 30 + i,
            end_ts=t0 + 31 + i,
        )
        for i, h in enumerate(hosts[-6:])
    ]
    return out


def _scan(t0: float) -> list[EventBase]:
    out: list[EventBase] = []
    for i in range(10, 20):
        h = f"192.168.5.{i}"
        f = flow(
            "pi-1",
            flow_id=f"s{h}",
            src_ip="192.168.5.16",
            dst_ip=h,
            dst_port=23,
            start_ts=t0 + i,
            end_ts=t0 + i + 0.5,
        )
        out += [
            f,
            AttackClassification(
                node_id="pi-1",
                family="botnet",
                confidence=0.9,
                flow_id=f.flow_id,
                src_ip=f.src_ip,
                dst_ip=h,
                dst_port=23,
            ),
        ]
    return out


def _predict(evil_t: float | None) -> list[tuple[str, float]]:
    svc = GnnService(
        load_predictor(ServicesSettings().gnn_model), every_s=10.0, top_k=16, min_p=0.2
    )
    svc.handle(_lan("pi-1", T, "192.168.5"))
    if evil_t is not None:  # pi-9's own (separate) LAN, dated evil_t, three times over
        svc.handle(_lan("pi-9", evil_t, "10.99.0"))
    out = svc.handle(_scan(T + 100))
    return sorted(
        (p.target_host, p.probability)
        for p in out
        if isinstance(p, AttackPrediction) and p.target_host.startswith("192.168.5.")
    )


@pytest.mark.parametrize("evil_t", [Y2099, T + 86_400.0], ids=["2099", "a-day-ahead"])
def test_another_node_dated_ahead_does_not_change_the_good_nodes_predictions(evil_t: float) -> None:
    # prepare: the good node's predictions with pi-9's LAN in the same capture time
    same_time = _predict(T)
    # execute: pi-9's LAN dated in 2099 (past the hub's clock) or a day ahead (confirmed jump)
    ahead = _predict(evil_t)
    # assert: the good node's hosts are predicted as before
    assert same_time, "no prediction in the baseline"
    assert ahead == same_time


def test_a_2099_detection_does_not_stretch_the_good_nodes_incident() -> None:
    # prepare: pi-9 reports the attacker with a 2099 envelope and window
    svc = AlertingService(min_severity="medium", update_every_s=0.0)
    far = datetime(2099, 6, 1, tzinfo=UTC)
    bad = AnomalyEvent(
        node_id="pi-9",
        ts=far,
        detector="rules",
        score=1.0,
        threshold=0.5,
        severity="high",
        family="scan",
        rule_id="port_scan_vertical",
        src_ip="10.0.0.66",
        dst_ip="10.0.0.5",
        window_start=Y2099,
        window_end=Y2099 + 1,
    )
    good = [
        AnomalyEvent(
            node_id="pi-1",
            detector="rules",
            score=1.0,
            threshold=0.5,
            severity="high",
            family="scan",
            rule_id="port_scan_vertical",
            src_ip="10.0.0.66",
            dst_ip="10.0.0.5",
            window_start=T + i,
            window_end=T + i + 1,
        )
        for i in range(3)
    ]
    # execute
    out = svc.handle([bad, *good]) + svc.flush()
    # assert: the incident's event time stays within the hub's clock
    alerts = [a for a in out if isinstance(a, AlertEvent)]
    assert alerts
    hub_now = datetime.now(UTC).timestamp()
    for a in alerts:
        assert a.event_last_ts is not None and a.event_last_ts <= hub_now + 3600.0, a.event_last_ts
