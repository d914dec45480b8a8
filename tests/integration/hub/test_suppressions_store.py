"""Suppressions in the shared store, on both backends (SQLite and the real PostgreSQL): create,
list by state, expire and delete with their audit trail, the active set, marking an incident
and the hit counts of later (marked) versions of it."""

from __future__ import annotations

import time
import uuid

from contracts.events import AlertEvent
from hub.services.suppressions import SuppressionMatch
from hub.storage import Queries

NOW = 1_900_000_000.0


def _incident(count: int, sid: str | None = None) -> AlertEvent:
    return AlertEvent(
        node_id="hub", incident_key="scan:attacker:10.0.0.66", severity="high", title="scan",
        family="scan", count=count, attackers=["10.0.0.66"], nodes=["pi-1"],
        suppressed_by=uuid.UUID(sid) if sid else None,
    )  # fmt: skip


def test_lifecycle_is_listed_by_state_and_audited(store):
    # prepare
    m = SuppressionMatch(family="scan")
    a = store.create_suppression(m, "noise", "alice (operator)", NOW + 100, now=NOW)
    b = store.create_suppression(m, "noise", "alice (operator)", NOW + 10, now=NOW)
    c = store.create_suppression(m, "noise", "alice (operator)", NOW + 100, now=NOW)
    # execute: b reaches its expiry, c is deleted
    store.end_suppression(c["id"], "deleted", "bob (operator)", now=NOW + 20)
    later = NOW + 20
    # assert
    ids = {
        st: [x["id"] for x in store.list_suppressions(st, now=later)]
        for st in ("active", "expired", "deleted")
    }
    assert ids == {"active": [a["id"]], "expired": [b["id"]], "deleted": [c["id"]]}
    assert [s.id for s in store.active_suppressions(now=later)] == [uuid.UUID(a["id"])]
    audit_b = store.get_suppression(b["id"], now=later)["audit"]
    assert [(x["action"], x["actor"]) for x in audit_b] == [
        ("created", "alice (operator)"),
        ("expired", "system"),
    ]
    audit_c = store.get_suppression(c["id"], now=later)["audit"]
    assert audit_c[-1]["action"] == "deleted" and audit_c[-1]["actor"] == "bob (operator)"
    assert store.end_suppression(c["id"], "deleted", "bob", now=later) is None  # once only


def test_marked_incidents_count_hits_and_stay_listed(store):
    # prepare
    s = store.create_suppression(
        SuppressionMatch(attacker="10.0.0.66"), "lab", "a", time.time() + 600
    )
    store.insert_events([_incident(3)])
    # execute: the API marks it (3 hits), then the service sends marked updates
    store.mark_incident("scan:attacker:10.0.0.66", s["id"], "a", resolve_as="false_positive")
    store.insert_events([_incident(7, s["id"])])
    store.insert_events([_incident(10)])  # an update the service sent before it reloaded
    # assert
    got = store.get_suppression(s["id"])
    assert got["hits"] == 10 and got["last_hit"] is not None
    q = Queries(store)
    assert q.list_alerts(None, None)["items"] == []
    item = q.list_alerts(None, None, suppressed="only")["items"][0]
    assert item["suppressed_by"] == s["id"] and item["status"] == "resolved"
    assert item["resolution"] == "false_positive"
    # deleting the suppression unmarks it
    store.end_suppression(s["id"], "deleted", "a")
    assert q.list_alerts(None, None)["items"][0]["suppressed_by"] is None
