"""The API on SQLite: auth roles, pagination, filters, alert state, WebSocket, readiness."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from contracts.events import AlertEvent, AnomalyEvent
from hub.api.app import create_app
from hub.bus import EventBus
from hub.settings import HubSettings
from hub.storage import EventStore
from hub.storage.tokens import create_token
from tests.unit.contracts.samples import all_samples


@pytest.fixture
def api(tmp_path):
    store = EventStore(f"sqlite:///{tmp_path / 'api.db'}")
    store.create_schema()
    store.insert_events(all_samples())
    bus = EventBus(maxsize=20)
    app = create_app(HubSettings(ws_queue=20), store, bus)
    op, rd = create_token(store, "op", "operator"), create_token(store, "rd", "read")
    with TestClient(app) as client:
        yield (
            client,
            store,
            bus,
            {"Authorization": f"Bearer {op}"},
            {"Authorization": f"Bearer {rd}"},
            rd,
        )


def test_health_needs_no_token_everything_else_does(api):
    client, *_ = api
    assert client.get("/api/health").json() == {"status": "ok"}
    assert client.get("/api/ready").status_code == 200
    for path in (
        "/api/anomalies",
        "/api/alerts",
        "/api/nodes",
        "/api/overview",
        "/api/graph",
        "/api/fl/summary",
    ):
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers={"Authorization": "Bearer fnd_wrong"}).status_code == 401


def test_read_token_reads_but_cannot_acknowledge(api):
    client, _store, _bus, op, rd, _ = api
    key = client.get("/api/alerts", headers=rd).json()["items"][0]["alert_id"]
    assert client.post(f"/api/alerts/{key}/acknowledge", headers=rd).status_code == 403
    r = client.post(f"/api/alerts/{key}/acknowledge", headers=op)
    assert r.status_code == 200 and r.json()["status"] == "acknowledged"
    assert client.post(f"/api/alerts/{key}/resolve", headers=op).json()["status"] == "resolved"
    assert client.post("/api/alerts/missing/resolve", headers=op).status_code == 404


def test_pagination_and_filters_over_http(api):
    client, store, _bus, _op, rd, _ = api
    store.insert_events(
        [AnomalyEvent(node_id="pi-2", detector="rules", score=i, threshold=1) for i in range(30)]
    )
    got, cursor = [], None
    while True:
        params = {"limit": 7, "detector": "rules"} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/anomalies", params=params, headers=rd).json()
        got += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(got) == 30 and {i["detector"] for i in got} == {"rules"}
    assert client.get("/api/anomalies", params={"cursor": "garbage"}, headers=rd).status_code == 400
    assert client.get("/api/anomalies", params={"limit": 0}, headers=rd).status_code == 422
    assert (
        client.get("/api/anomalies", params={"since": "yesterday"}, headers=rd).status_code == 422
    )


def test_websocket_gets_events_of_its_topics(api):
    client, _store, bus, _op, _rd, token = api
    with client.websocket_connect(f"/ws/events?token={token}&topics=alerts") as ws:
        deadline = time.monotonic() + 5
        while bus.listeners() == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        bus.publish(
            [
                AnomalyEvent(node_id="pi-1", detector="rules", score=1, threshold=1),
                AlertEvent(node_id="hub", incident_key="k", severity="high", title="t"),
            ]
        )
        msg = ws.receive_json()
    assert msg["topic"] == "alerts" and msg["event"]["incident_key"] == "k"


def test_websocket_refuses_bad_tokens_and_topics(api):
    client, *_rest, token = api
    with (
        pytest.raises(WebSocketDisconnect) as info,
        client.websocket_connect("/ws/events?token=nope") as ws,
    ):
        ws.receive_json()
    assert info.value.code == 1008
    with (
        pytest.raises(WebSocketDisconnect) as info,
        client.websocket_connect(f"/ws/events?token={token}&topics=bogus") as ws,
    ):
        ws.receive_json()
    assert info.value.code == 1008


def test_slow_websocket_client_is_closed_cleanly(api):
    client, _store, bus, _op, _rd, token = api
    with client.websocket_connect(f"/ws/events?token={token}&topics=anomalies") as ws:
        deadline = time.monotonic() + 5
        while bus.listeners() == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        bus.publish(
            [
                AnomalyEvent(node_id="pi-1", detector="rules", score=i, threshold=1)
                for i in range(200)
            ]
        )
        codes = []
        with pytest.raises(WebSocketDisconnect) as info:
            for _ in range(300):
                codes.append(ws.receive_json())
    assert info.value.code == 1013
    assert len(codes) < 200  # closed long before it got everything


def test_openapi_is_served(api):
    client, *_ = api
    spec = client.get("/api/openapi.json").json()
    assert "/api/alerts/{alert_id}/acknowledge" in spec["paths"]
