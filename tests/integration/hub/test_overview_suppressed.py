"""/api/overview's open-alert counter on both backends: incidents a suppression marked are not
open alerts, and are counted apart (never silently dropped)."""

from __future__ import annotations

import time
import uuid

from contracts.events import AlertEvent
from hub.services.suppressions import SuppressionMatch
from hub.storage import Queries


def _incident(key: str, sid: str | None = None) -> AlertEvent:
    return AlertEvent(
        node_id="hub", incident_key=key, severity="high", title=key, family="scan", count=3,
        attackers=["10.0.0.66"], nodes=["pi-1"], suppressed_by=uuid.UUID(sid) if sid else None,
    )  # fmt: skip


def test_suppressed_incidents_are_counted_apart_from_open_alerts(store):
    # prepare: three open incidents, one of them marked by an active suppression
    sup = store.create_suppression(
        SuppressionMatch(attacker="10.0.0.66"), "lab scanner", "alice", time.time() + 3600
    )
    store.insert_events([_incident("scan:a"), _incident("scan:b"), _incident("scan:c", sup["id"])])
    # execute
    ov = Queries(store).overview(30)
    # assert
    assert ov["alerts_open"] == 2
    assert ov["alerts_suppressed"] == 1


def test_resolved_incidents_are_in_neither_count(store):
    # prepare
    sup = store.create_suppression(
        SuppressionMatch(family="scan"), "noise", "alice", time.time() + 3600
    )
    store.insert_events([_incident("scan:a"), _incident("scan:b", sup["id"])])
    store.set_alert_state("scan:a", "resolved", "bob")
    store.set_alert_state("scan:b", "resolved", "bob")
    # execute
    ov = Queries(store).overview(30)
    # assert
    assert (ov["alerts_open"], ov["alerts_suppressed"]) == (0, 0)
