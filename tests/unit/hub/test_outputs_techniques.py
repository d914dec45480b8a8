"""ATT&CK on incidents: the alerting service gives an incident its rules' own techniques and
its family's, and built-in detectors' (ARP) when their events carry none; EVE exports them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contracts.events import AlertEvent, AnomalyEvent
from hub.outputs import eve
from hub.services.alerting import AlertingService

WALL = datetime(2026, 1, 1, tzinfo=UTC)


def _rule(
    i: int, rule: str, family: str, techniques: list[str], src: str, dst: str
) -> AnomalyEvent:
    return AnomalyEvent(
        node_id="pi-1",
        detector="rules",
        rule_id=rule,
        family=family,  # type: ignore[arg-type]
        score=50,
        threshold=20,
        severity="high",
        src_ip=src,
        dst_ip=dst,
        dst_port=22,
        window_start=1_700_000_000.0 + i,
        window_end=1_700_000_000.5 + i,
        techniques=techniques,
        ts=WALL + timedelta(seconds=i),
    )


def _incidents(events: list[AnomalyEvent]) -> dict[str, AlertEvent]:
    svc = AlertingService(clock=lambda: 0.0)
    out = [*svc.handle(list(events)), *svc.flush()]
    return {a.incident_key: a for a in out}


def test_an_incident_carries_its_rules_techniques_then_its_familys() -> None:
    # prepare: SSH brute force flagged by the rule, whose events carry T1110 / T1110.001
    events = [
        _rule(i, "bruteforce_login", "bruteforce", ["T1110.001"], "192.0.2.9", "10.0.0.2")
        for i in range(3)
    ]
    # execute
    [incident] = _incidents(events).values()
    [rec] = eve.to_eve(incident)
    # assert
    assert incident.techniques == ["T1110.001", "T1110"]
    assert rec["alert"]["metadata"]["mitre_technique_id"] == ["T1110.001", "T1110"]


def test_arp_spoofing_without_carried_techniques_gets_arp_cache_poisoning() -> None:
    events = [_rule(0, "arp_spoof", "other", [], "192.168.1.1", "192.168.1.1")]
    incidents = _incidents(events)
    assert [a.techniques for a in incidents.values()] == [["T1557.002"]]
