"""The suppression matcher, its hook in the alerting service, and the outputs skipping (and
counting) suppressed incidents."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from contracts import encode
from contracts.events import AlertEvent, AnomalyEvent
from contracts.transports.base import Message
from hub.outputs.config import OutputsSettings
from hub.outputs.metrics import OutputMetrics
from hub.outputs.runner import OutputWorker
from hub.services.alerting import AlertingService
from hub.services.suppressions import Active, SuppressionMatch, Suppressions, first_match

NOW = 1_800_000_000.0


def _alert(**kw) -> AlertEvent:
    base = dict(
        node_id="hub", incident_key="scan:attacker:10.0.0.66", severity="high", title="scan",
        family="scan", attackers=["10.0.0.66"], targets=["10.0.0.5"], rule_ids=["port-scan"],
        nodes=["pi-1"], detectors=["rules", "iforest"],
    )  # fmt: skip
    return AlertEvent(**(base | kw))


def _active(expires: float = NOW + 60, **match) -> Active:
    return Active(uuid.uuid4(), SuppressionMatch(**match), expires)


@pytest.mark.parametrize(
    ("match", "hit"),
    [
        ({"attacker": "10.0.0.0/24"}, True),
        ({"attacker": "10.0.1.0/24"}, False),
        ({"attacker": "10.0.0.66"}, True),
        ({"target": "10.0.0.5/32", "family": "scan"}, True),
        ({"target": "10.0.0.5", "family": "dos"}, False),
        ({"rule_id": "port-scan"}, True),
        ({"rule_id": "ssh-brute"}, False),
        ({"node_id": "pi-1", "detector": "iforest"}, True),
        ({"node_id": "pi-2"}, False),
        ({"attacker": "fd00::/8"}, False),
    ],
)
def test_every_field_given_must_match(match, hit):
    assert (first_match([_active(**match)], _alert(), NOW) is not None) is hit


def test_an_expired_suppression_matches_nothing():
    assert first_match([_active(expires=NOW - 1, family="scan")], _alert(), NOW) is None


@pytest.mark.parametrize(
    "match",
    [{}, {"attacker": "10.0.0.256"}, {"target": "evil"}, {"rule_id": "x" * 65}, {"family": "nope"}],
)
def test_bad_matches_are_refused(match):
    with pytest.raises(ValidationError):
        SuppressionMatch(**match)


def test_a_failing_loader_keeps_the_last_set():
    # prepare
    calls = {"n": 0}
    sup = _active(family="scan")

    def loader() -> list[Active]:
        calls["n"] += 1
        if calls["n"] > 1:
            raise ConnectionError("db down")
        return [sup]

    clock = [NOW]
    s = Suppressions(loader, refresh_s=10, clock=lambda: clock[0])
    # execute
    first = s.mark(_alert())
    clock[0] += 11
    second = s.mark(_alert())
    # assert
    assert calls["n"] == 2
    assert first.suppressed_by == sup.id and second.suppressed_by == sup.id


def test_the_alerting_service_marks_but_still_emits_matched_incidents():
    # prepare: a rule scan from 10.0.0.66, suppressed; one from 10.0.0.77, not
    sup = _active(expires=4e9, attacker="10.0.0.66/32")
    svc = AlertingService(suppressions=Suppressions(lambda: [sup], refresh_s=3600))
    evs = [
        AnomalyEvent(
            node_id="pi-1",
            detector="rules",
            rule_id="port_scan_vertical",
            family="scan",
            score=40,
            threshold=30,
            severity="high",
            src_ip=src,
            dst_ip="10.0.0.5",
        )
        for src in ("10.0.0.66", "10.0.0.77")
    ]
    # execute
    out = svc.handle(evs) + svc.flush()
    # assert
    marks = {a.attackers[0]: a.suppressed_by for a in out if isinstance(a, AlertEvent)}
    assert marks == {"10.0.0.66": sup.id, "10.0.0.77": None}


def _worker(include: bool) -> OutputWorker:
    filt = {"include_suppressed": True} if include else {}
    out = {"name": "hook", "type": "webhook", "url": "http://127.0.0.1:9/x", "filter": filt}
    settings = OutputsSettings(kafka_url="memory://h11-x", outputs=[out], metrics_port=None)
    return OutputWorker(settings.outputs[0], settings, OutputMetrics(), subscriber=lambda: None)  # type: ignore[arg-type,return-value]


@pytest.mark.parametrize("include", [False, True])
def test_outputs_skip_suppressed_incidents_and_count_them(include):
    # prepare
    w = _worker(include)
    msgs = [
        Message("alerts", encode(_alert(incident_key="a", suppressed_by=uuid.uuid4()))),
        Message("alerts", encode(_alert(incident_key="b"))),
    ]
    # execute
    records = w.select(msgs)
    # assert
    assert len(records) == (2 if include else 1)
    assert w.counts["suppressed"] == (0 if include else 1)
    assert w.metrics.records.labels("hook", "suppressed")._value.get() == (0 if include else 1)
