"""Alerting: one incident per (family, host), suppression, reopening, escalation; the runtime
dead-letters bad input and commits only after its outputs were delivered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contracts import decode, encode
from contracts.deadletter import read_dead_letter
from contracts.events import AnomalyEvent, AttackPrediction
from contracts.transports.memory import MemoryBroker
from hub.services.alerting import AlertingService
from hub.services.runtime import ServiceRuntime
from tests.unit.contracts.samples import flow

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _anomaly(
    t: float,
    rule: str = "port_scan_horizontal",
    src: str = "10.0.0.66",
    dst: str = "10.0.0.5",
    severity: str = "medium",
) -> AnomalyEvent:
    return AnomalyEvent(
        node_id="pi-1",
        detector="rules",
        rule_id=rule,
        score=50,
        threshold=20,
        severity=severity,
        src_ip=src,
        dst_ip=dst,
        ts=T0 + timedelta(seconds=t),
    )


def test_a_thousand_hits_make_one_incident_with_few_updates():
    svc = AlertingService(update_every_s=30, quiet_s=600)
    alerts = svc.handle([_anomaly(t * 0.1) for t in range(1000)])  # 100 s of a scan
    assert {a.incident_key for a in alerts} == {"scan:10.0.0.66"}
    assert 1 < len(alerts) <= 5
    assert alerts[-1].count == 1000 or alerts[-1].count > 900


def test_floods_are_keyed_by_target_and_low_severity_is_ignored():
    svc = AlertingService()
    out = svc.handle(
        [
            _anomaly(0, "syn_flood", src=f"1.2.3.{i}", dst="10.0.0.2", severity="critical")
            for i in range(50)
        ]
        + [_anomaly(1, "beaconing", severity="low")]
    )
    assert [a.incident_key for a in out] == ["dos:10.0.0.2"]
    assert out[0].severity == "critical"


def test_a_quiet_incident_reopens_as_a_new_one():
    svc = AlertingService(quiet_s=60)
    first = svc.handle([_anomaly(0)])
    later = svc.handle([_anomaly(500)])
    assert first[0].incident_key == "scan:10.0.0.66"
    assert later[0].incident_key == "scan:10.0.0.66#2"


def test_prediction_that_comes_true_escalates():
    svc = AlertingService()
    svc.handle(
        [
            AttackPrediction(
                node_id="hub",
                target_host="10.0.0.9",
                probability=0.8,
                severity="high",
                family="botnet",
                ts=T0,
            )
        ]
    )
    out = svc.handle(
        [_anomaly(10, "telnet_scan", src="10.0.0.9", dst="10.0.0.10", severity="high")]
    )
    assert out[0].escalated and out[0].severity == "critical"


def test_runtime_dead_letters_bad_input_and_acks_after_delivery():
    MemoryBroker.reset("svc")
    broker = MemoryBroker.named("svc")
    pub = broker.publisher()
    pub.publish("anomalies", encode(_anomaly(0)))
    pub.publish("anomalies", b"\x00garbage")
    pub.publish("anomalies", encode(flow()))  # a valid event of the wrong kind
    rt = ServiceRuntime(
        AlertingService(), broker.subscriber(["anomalies"], "alerting"), broker.publisher()
    )
    rt.step(0.1)
    alerts = [decode(m.value) for m in broker.messages("alerts")]
    dead = [read_dead_letter(m.value) for m in broker.messages("dead_letter")]
    assert [a.incident_key for a in alerts] == ["scan:10.0.0.66"]
    assert len(dead) == 2 and {d["service"] for d in dead} == {"alerting"}
    assert any("does not take 'flow'" in d["reason"] for d in dead)
    assert broker.lag("alerting", "anomalies") == 0
