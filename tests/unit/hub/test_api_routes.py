"""The API on SQLite: auth roles, pagination, filters, alert state, WebSocket, readiness."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from typing import get_args

import pytest
import uvicorn
import websockets
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from contracts.events import AlertEvent, AnomalyEvent, AttackPrediction, FLEvent
from hub.api import deps
from hub.api.app import create_app
from hub.api.ws_auth import PROTOCOL
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


def _offer(token: str) -> list[str]:
    return [PROTOCOL, f"bearer.{token}"]


def test_websocket_gets_events_of_its_topics(api):
    client, _store, bus, _op, _rd, token = api
    with client.websocket_connect("/ws/events?topics=alerts", subprotocols=_offer(token)) as ws:
        assert ws.accepted_subprotocol == PROTOCOL  # never the token
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


@pytest.mark.parametrize(
    ("url", "offer"),
    [
        ("/ws/events", None),  # no token at all
        ("/ws/events", [PROTOCOL]),  # the protocol but no bearer
        ("/ws/events", [PROTOCOL, "bearer.fnd_nope"]),  # a wrong token
        ("/ws/events", ["bearer.TOKEN"]),  # a good token without the protocol
        ("/ws/events", [PROTOCOL, "bearer.TOKEN", "bearer.TOKEN"]),  # two tokens
        ("/ws/events?topics=bogus", [PROTOCOL, "bearer.TOKEN"]),  # an unknown topic
        ("/ws/events?token=TOKEN", None),  # a good token, but in the query string
        ("/ws/events?token=TOKEN", [PROTOCOL, "bearer.TOKEN"]),  # even beside a good offer
    ],
)
def test_websocket_refuses_bad_tokens_and_topics(api, url, offer):
    client, *_rest, token = api
    offer = [p.replace("TOKEN", token) for p in offer] if offer else None
    with (
        pytest.raises(WebSocketDisconnect) as info,
        client.websocket_connect(url.replace("TOKEN", token), subprotocols=offer) as ws,
    ):
        ws.receive_json()
    assert info.value.code == 1008


def test_slow_websocket_client_is_closed_cleanly(api):
    client, _store, bus, _op, _rd, token = api
    with client.websocket_connect("/ws/events?topics=anomalies", subprotocols=_offer(token)) as ws:
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


def test_route_literals_match_the_contracts():
    assert get_args(deps.Predictor) == get_args(
        AttackPrediction.model_fields["predictor"].annotation
    )
    assert get_args(deps.FLRole) == get_args(FLEvent.model_fields["role"].annotation)
    assert get_args(deps.AlertStatus) == get_args(AlertEvent.model_fields["status"].annotation)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _ws_close_code(url: str, offer: list[str]) -> tuple[str | None, int | None]:
    """(accepted subprotocol, close code) of one connection to a real server."""
    async with websockets.connect(url, subprotocols=offer, open_timeout=10) as ws:  # type: ignore[arg-type]
        try:
            await asyncio.wait_for(ws.recv(), 0.5)
        except TimeoutError:
            return ws.subprotocol, None
        except websockets.ConnectionClosed as exc:
            return ws.subprotocol, exc.rcvd.code if exc.rcvd else None
    return ws.subprotocol, None


def test_token_never_reaches_the_access_log_of_a_real_server(tmp_path):
    # prepare: a real uvicorn (its access and error loggers captured) and two tokens
    store = EventStore(f"sqlite:///{tmp_path / 'ws.db'}")
    store.create_schema()
    token = create_token(store, "op", "operator")
    wrong = "fnd_" + "x" * 43
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(HubSettings(), store), host="127.0.0.1", port=port, log_level="info",
            access_log=True, ws="websockets", lifespan="off",
        )
    )  # fmt: skip
    records = _Records()
    loggers = [logging.getLogger(n) for n in ("uvicorn.access", "uvicorn.error", "hub")]
    for lg in loggers:
        lg.addHandler(records)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        url = f"ws://127.0.0.1:{port}/ws/events?topics=alerts"
        # execute: a good token in the header, a wrong one, and none
        good = asyncio.run(_ws_close_code(url, _offer(token)))
        bad = asyncio.run(_ws_close_code(url, _offer(wrong)))
        none = asyncio.run(_ws_close_code(url, [PROTOCOL]))
    finally:
        server.should_exit = True
        thread.join(10)
        for lg in loggers:
            lg.removeHandler(records)
    # assert: accepted with fednids.v1 (open, no close), refused with 1008, no token logged
    assert good == (PROTOCOL, None)
    assert bad == (PROTOCOL, 1008)
    assert none == (PROTOCOL, 1008)
    ws_lines = [line for line in records.lines if "/ws/events" in line]
    assert len(ws_lines) >= 3, records.lines  # the handshakes were logged (capture works)
    assert not [line for line in records.lines if token in line or wrong in line]
