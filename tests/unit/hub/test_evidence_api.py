"""Packet evidence through the API on embedded transports: an operator asks (per request or
per incident), follows the status and downloads the pcap; roles; 503 when it is off; the
evidence directory stays bounded."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from contracts.events import AlertEvent
from contracts.transports import open_publisher, open_subscriber
from edge_agent.capture.pcap import PcapSource
from edge_agent.evidence.responder import EvidenceResponder
from hub.api.app import create_app
from hub.evidence import EvidenceRecord, EvidenceService, EvidenceStore
from hub.settings import HubSettings
from hub.storage import EventStore
from hub.storage.tokens import create_token
from tests.unit.edge_agent.test_evidence_ring import HOSTS, filled


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


@pytest.fixture
def api(tmp_path: Path):
    url = f"memory://evidence-{uuid.uuid4().hex[:8]}"
    store = EventStore(f"sqlite:///{tmp_path / 'api.db'}")
    store.create_schema()
    store.insert_events([AlertEvent(
        node_id="hub", incident_key="scan:10.0.0.2", severity="high", title="Port scan",
        family="scan", attackers=["10.0.0.2"], targets=["10.9.9.9"], nodes=["pi-a"],
        event_first_ts=1500.0, event_last_ts=1600.0,
    )])  # fmt: skip
    op, rd = create_token(store, "alice", "operator"), create_token(store, "rd", "read")
    node = EvidenceResponder("pi-a", filled(1 << 22, 3000, size=200), open_publisher(url))
    sub = open_subscriber(url, [node.request_topic], group="agent-pi-a-evidence")
    stop = threading.Event()
    t = threading.Thread(target=node.run, args=(sub, stop), daemon=True)
    t.start()
    svc = EvidenceService(url, EvidenceStore(tmp_path / "evidence"), timeout_s=10)
    svc.window_pad_s = 0
    app = create_app(HubSettings(), store)
    app.state.evidence = svc
    with TestClient(app) as client:
        yield client, {"Authorization": f"Bearer {op}"}, {"Authorization": f"Bearer {rd}"}
    stop.set()
    t.join(5)
    svc.close()


def _wait(client, headers, eid: str) -> dict:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        got = client.get(f"/api/evidence/{eid}", headers=headers).json()
        if got["status"] != "pending":
            return got
        time.sleep(0.05)
    raise AssertionError("still pending")


def test_an_operator_asks_follows_and_downloads_the_pcap(api, tmp_path):
    client, op, rd = api
    body = {"node_id": "pi-a", "hosts": ["10.0.0.3"], "t0": _iso(1100), "t1": _iso(1199)}
    # execute
    denied = client.post("/api/evidence", json=body, headers=rd)
    anonymous = client.post("/api/evidence", json=body)
    made = client.post("/api/evidence", json=body, headers=op)
    status = _wait(client, rd, made.json()["evidence_id"])
    reader_pcap = client.get(status["pcap_url"], headers=rd)
    pcap = client.get(status["pcap_url"], headers=op)
    # assert
    assert (denied.status_code, anonymous.status_code, made.status_code) == (403, 401, 202)
    assert status["status"] == "ready" and status["frames"] == 20 and not status["partial"]
    assert reader_pcap.status_code == 403
    assert pcap.status_code == 200
    assert pcap.headers["content-type"] == "application/vnd.tcpdump.pcap"
    (tmp_path / "got.pcap").write_bytes(pcap.content)
    pkts = list(PcapSource(tmp_path / "got.pcap"))
    assert len(pkts) == 20 and {p.src for p in pkts} == {HOSTS[2]}  # type: ignore[union-attr]
    assert [e["evidence_id"] for e in client.get("/api/evidence", headers=rd).json()["items"]] == [
        status["evidence_id"]
    ]


def test_an_incident_asks_each_of_its_nodes_for_its_hosts_around_its_span(api):
    client, op, rd = api
    made = client.post("/api/alerts/scan:10.0.0.2/evidence", headers=op)
    (item,) = made.json()["items"]
    status = _wait(client, rd, item["evidence_id"])
    assert made.status_code == 202 and item["incident_key"] == "scan:10.0.0.2"
    assert sorted(status["hosts"]) == ["10.0.0.2", "10.9.9.9"]
    assert status["status"] == "ready" and status["frames"] == 101  # every frame goes to 10.9.9.9
    assert client.post("/api/alerts/nope/evidence", headers=op).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"node_id": "pi-a", "hosts": [], "t0": _iso(1), "t1": _iso(2)},
        {"node_id": "pi-a", "hosts": ["not-an-ip"], "t0": _iso(1), "t1": _iso(2)},
        {"node_id": "pi-a", "hosts": ["10.0.0.1"] * 17, "t0": _iso(1), "t1": _iso(2)},
        {"node_id": "pi-a", "hosts": ["10.0.0.1"], "t0": _iso(3), "t1": _iso(2)},
        {"node_id": "pi-a", "hosts": ["10.0.0.1"], "t0": _iso(1), "t1": _iso(1e6)},
        {"node_id": "Bad/Node", "hosts": ["10.0.0.1"], "t0": _iso(1), "t1": _iso(2)},
        {
            "node_id": "pi-a",
            "hosts": ["10.0.0.1"],
            "t0": _iso(1),
            "t1": _iso(2),
            "max_bytes": 10**9,
        },
    ],
)
def test_bad_requests_are_422(api, body):
    client, op, _rd = api
    assert client.post("/api/evidence", json=body, headers=op).status_code == 422


def test_unknown_ids_are_404_and_no_service_is_409(api, tmp_path):
    client, _op, rd = api
    assert client.get(f"/api/evidence/{uuid.uuid4()}", headers=rd).status_code == 404
    store = EventStore(f"sqlite:///{tmp_path / 'off.db'}")
    store.create_schema()
    token = create_token(store, "bob", "operator")
    auth = {"Authorization": f"Bearer {token}"}
    body = {"node_id": "pi-a", "hosts": ["10.0.0.1"], "t0": _iso(1), "t1": _iso(2)}
    with TestClient(create_app(HubSettings(), store)) as off:
        asked = off.post("/api/evidence", json=body, headers=auth)
        listed = off.get("/api/evidence", headers=auth)
    assert asked.status_code == 409 and "not configured" in asked.json()["detail"]
    assert listed.status_code == 200 and listed.json() == {"items": []}


def test_the_evidence_directory_keeps_its_bound_oldest_first(tmp_path):
    store = EvidenceStore(tmp_path / "ev", max_bytes=2500)
    recs = []
    for _ in range(3):
        rec = EvidenceRecord(evidence_id=uuid.uuid4(), node_id="pi-a", hosts=["10.0.0.1"],
                             t0=0, t1=1, max_bytes=10_000, status="ready", deadline=2e9)  # fmt: skip
        recs.append(store.save_pcap(rec, b"\xd4\xc3\xb2\xa1" + bytes(1000)))
        time.sleep(0.01)
    first = store.get(recs[0].evidence_id)
    assert first is not None and first.status == "failed" and "deleted" in first.reason
    assert not store.pcap_path(recs[0].evidence_id).exists()
    assert all(store.pcap_path(r.evidence_id).exists() for r in recs[1:])
