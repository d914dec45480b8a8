"""Suppressions through the API on SQLite: roles, bounds (422), the audit trail, "mark false
positive" and "suppress like this" on an incident, the suppressed filter and the hit counts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from contracts.events import AlertEvent
from hub.api.app import create_app
from hub.settings import HubSettings
from hub.storage import EventStore
from hub.storage.tokens import create_token


def _later(days: float = 7) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def _incident(key: str = "scan:attacker:10.0.0.66", count: int = 3, **kw) -> AlertEvent:
    base = dict(
        node_id="hub", incident_key=key, severity="high", title="Port scan", family="scan",
        count=count, attackers=["10.0.0.66"], targets=["10.0.0.5"], rule_ids=["port-scan"],
        nodes=["pi-1"], detectors=["rules"], techniques=["T1046"],
    )  # fmt: skip
    return AlertEvent(**(base | kw))


@pytest.fixture
def api(tmp_path):
    store = EventStore(f"sqlite:///{tmp_path / 'api.db'}")
    store.create_schema()
    store.insert_events([_incident()])
    op, rd = create_token(store, "alice", "operator"), create_token(store, "rd", "read")
    with TestClient(create_app(HubSettings(), store)) as client:
        yield client, store, {"Authorization": f"Bearer {op}"}, {"Authorization": f"Bearer {rd}"}


def test_create_needs_an_operator_and_is_audited(api):
    client, _store, op, rd = api
    body = {"match": {"attacker": "10.0.0.0/24"}, "reason": "lab scanner", "expires_at": _later()}
    # execute
    denied = client.post("/api/suppressions", json=body, headers=rd)
    anonymous = client.post("/api/suppressions", json=body)
    made = client.post("/api/suppressions", json=body, headers=op)
    # assert
    assert (denied.status_code, anonymous.status_code, made.status_code) == (403, 401, 200)
    got = made.json()
    assert got["author"] == "alice (operator)" and got["state"] == "active"
    assert got["match"]["attacker"] == "10.0.0.0/24"
    assert [a["action"] for a in got["audit"]] == ["created"]
    listed = client.get("/api/suppressions", headers=rd).json()["items"]
    assert [s["id"] for s in listed] == [got["id"]]


@pytest.mark.parametrize(
    "body",
    [
        {"match": {}, "reason": "x", "expires_at": _later()},
        {"match": {"attacker": "10.0.0.300"}, "reason": "x", "expires_at": _later()},
        {"match": {"target": "not a cidr"}, "reason": "x", "expires_at": _later()},
        {"match": {"family": "scan"}, "reason": "", "expires_at": _later()},
        {"match": {"family": "scan"}, "reason": "x" * 501, "expires_at": _later()},
        {"match": {"family": "scan"}, "reason": "x", "expires_at": _later(-1)},
        {"match": {"family": "scan"}, "reason": "x", "expires_at": _later(400)},
        {"match": {"family": "scan"}, "reason": "x"},
        {"match": {"rule_id": "a b"}, "reason": "x", "expires_at": _later()},
        {"match": {"family": "scan", "extra": 1}, "reason": "x", "expires_at": _later()},
    ],
)
def test_bad_input_is_422(api, body):
    client, _store, op, _rd = api
    assert client.post("/api/suppressions", json=body, headers=op).status_code == 422


def test_expire_and_delete_are_audited_and_only_once(api):
    client, _store, op, rd = api
    body = {"match": {"family": "scan"}, "reason": "noise", "expires_at": _later()}
    a = client.post("/api/suppressions", json=body, headers=op).json()["id"]
    b = client.post("/api/suppressions", json=body, headers=op).json()["id"]
    # execute
    assert client.post(f"/api/suppressions/{a}/expire", headers=rd).status_code == 403
    expired = client.post(f"/api/suppressions/{a}/expire", headers=op)
    again = client.post(f"/api/suppressions/{a}/expire", headers=op)
    deleted = client.delete(f"/api/suppressions/{b}", headers=op)
    # assert
    assert expired.status_code == 200 and again.status_code == 404
    assert expired.json()["state"] == "expired"
    assert [x["action"] for x in expired.json()["audit"]] == ["created", "expired"]
    assert deleted.json()["state"] == "deleted"
    assert deleted.json()["audit"][-1]["actor"] == "alice (operator)"
    states = {
        s: [x["id"] for x in client.get(f"/api/suppressions?state={s}", headers=rd).json()["items"]]
        for s in ("active", "expired", "deleted")
    }
    assert states == {"active": [], "expired": [a], "deleted": [b]}
    assert client.get("/api/suppressions/" + "0" * 36, headers=rd).status_code == 404
    assert client.get("/api/suppressions/" + "x" * 36, headers=rd).status_code == 422


def test_mark_false_positive_resolves_and_hides_the_incident(api):
    client, store, op, rd = api
    key = "scan:attacker:10.0.0.66"
    # execute
    denied = client.post(
        f"/api/alerts/{key}/false-positive", json={"expires_at": _later()}, headers=rd
    )
    res = client.post(
        f"/api/alerts/{key}/false-positive", json={"expires_at": _later()}, headers=op
    )
    # assert
    assert denied.status_code == 403 and res.status_code == 200, res.text
    sup, alert = res.json()["suppression"], res.json()["alert"]
    assert sup["match"] == {
        "attacker": "10.0.0.66/32", "target": "10.0.0.5/32", "rule_id": "port-scan",
        "family": "scan", "node_id": "pi-1", "detector": None,
    }  # fmt: skip
    assert sup["reason"] == "false positive" and sup["source_incident"] == key
    assert sup["hits"] == 3  # the incident's detections so far
    assert alert["status"] == "resolved" and alert["resolution"] == "false_positive"
    assert alert["suppressed_by"] == sup["id"]
    default = client.get("/api/alerts", headers=rd).json()["items"]
    only = client.get("/api/alerts?suppressed=only", headers=rd).json()["items"]
    assert default == [] and [a["alert_id"] for a in only] == [key]
    # the alerting service's next update (marked) counts the new detections, stays resolved
    store.insert_events([_incident(count=5, suppressed_by=uuid.UUID(sup["id"]))])
    again = client.get(f"/api/suppressions/{sup['id']}", headers=rd).json()
    assert again["hits"] == 5
    assert (
        client.get("/api/alerts?suppressed=only", headers=rd).json()["items"][0]["status"]
        == "resolved"
    )


def test_suppress_like_this_drafts_from_the_incident(api):
    client, _store, op, rd = api
    key = "scan:attacker:10.0.0.66"
    draft = client.get(f"/api/alerts/{key}/suppression-draft", headers=rd).json()
    assert draft["match"]["attacker"] == "10.0.0.66/32" and draft["source_incident"] == key
    # the operator widens it to the /24 and to any node before saving
    body = {
        "match": {"attacker": "10.0.0.0/24", "family": "scan"},
        "reason": "lab scanners",
        "expires_at": draft["expires_at"],
        "source_incident": key,
    }
    made = client.post("/api/suppressions", json=body, headers=op).json()
    listed = client.get("/api/alerts?suppressed=include", headers=rd).json()["items"]
    assert listed[0]["suppressed_by"] == made["id"] and listed[0]["status"] == "open"
    assert client.get("/api/alerts/nope/suppression-draft", headers=rd).status_code == 404


def test_deleting_a_suppression_unmarks_its_incidents(api):
    client, _store, op, rd = api
    key = "scan:attacker:10.0.0.66"
    sid = client.post(
        f"/api/alerts/{key}/false-positive", json={"expires_at": _later()}, headers=op
    ).json()["suppression"]["id"]
    client.delete(f"/api/suppressions/{sid}", headers=op)
    item = client.get("/api/alerts?suppressed=include", headers=rd).json()["items"][0]
    assert item["suppressed_by"] is None


def test_incident_context_names_techniques(api):
    client, _store, _op, rd = api
    ctx = client.get("/api/alerts/scan:attacker:10.0.0.66/context", headers=rd).json()
    assert ctx["techniques"] == [
        {"id": "T1046", "name": "Network Service Discovery", "tactic": "Discovery",
         "url": "https://attack.mitre.org/techniques/T1046/"}
    ]  # fmt: skip
    assert ctx["flows"] == [] and ctx["ioc_hits"] == []
