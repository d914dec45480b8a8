"""An IOC hit from a sensor at the hub: the alerting service makes it an incident."""

from __future__ import annotations

from contracts.events import AlertEvent
from contracts.indicators import IndicatorBundle
from edge_agent.detectors.ioc import IocDetector, IocMatcher
from hub.services.alerting import AlertingService
from tests.unit.contracts.samples import flow
from tests.unit.contracts.test_indicators import FAR, NOW, ind


def _hit(confidence: int, family: str = "other"):
    b = IndicatorBundle(
        version=1,
        created_at=NOW,
        expires_at=FAR,
        indicators=[ind("198.51.100.7", confidence=confidence, family=family)],
    )
    det = IocDetector(IocMatcher(b), clock=lambda: NOW)
    return det.on_flow(flow(src_ip="192.168.1.10", dst_ip="198.51.100.7"))


def _alerts(events):
    svc = AlertingService()
    out = svc.handle(events) + svc.flush()
    return [e for e in out if isinstance(e, AlertEvent)]


def test_a_confident_ioc_hit_opens_an_incident_on_its_own():
    alerts = _alerts(_hit(90))
    assert alerts and "ioc" in alerts[-1].detectors
    assert "198.51.100.7" in alerts[-1].hosts


def test_a_botnet_ioc_hit_opens_an_incident_of_its_family_with_its_technique():
    alerts = _alerts(_hit(60, "botnet"))
    assert alerts and alerts[-1].family == "botnet" and "T1071" in alerts[-1].techniques


def test_a_weak_ioc_hit_alone_waits_for_corroboration():
    assert _alerts(_hit(40)) == []
