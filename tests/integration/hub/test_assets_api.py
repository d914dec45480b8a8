"""``GET /api/assets`` on SQLite: auth, filters, pagination, and a cursor it did not make."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from contracts.events import AssetRecord, AssetService
from hub.api.app import create_app
from hub.settings import HubSettings
from hub.storage import EventStore
from hub.storage.tokens import create_token


@pytest.fixture
def api(tmp_path):
    store = EventStore(f"sqlite:///{tmp_path / 'api.db'}")
    store.create_schema()
    evs = [
        AssetRecord(
            node_id="pi-1",
            mac=f"b8:27:eb:00:00:{i:02x}",
            vendor="Raspberry Pi Foundation",
            hostname=f"pi-{i}",
            services=[AssetService(proto="tcp", port=22)],
            first_seen=100.0,
            last_seen=100.0 + i,
        )
        for i in range(5)
    ]
    evs.append(
        AssetRecord(
            node_id="pi-2", ip="192.168.1.80", mdns_names=["nas.local"], first_seen=1, last_seen=2
        )
    )
    store.insert_events(evs)
    token = create_token(store, "rd", "read")
    with TestClient(create_app(HubSettings(), store)) as client:
        yield client, {"Authorization": f"Bearer {token}"}


def test_assets_need_a_token(api):
    client, _ = api

    assert client.get("/api/assets").status_code == 401


def test_assets_list_filters_and_pages(api):
    client, auth = api

    pages, cursor = [], None
    while True:
        body = client.get(
            "/api/assets",
            params={"limit": 2, **({"cursor": cursor} if cursor else {})},
            headers=auth,
        ).json()
        pages.append([i["mac"] or i["ip"] for i in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    by_vendor = client.get("/api/assets", params={"vendor": "RASPBERRY"}, headers=auth).json()
    by_node = client.get("/api/assets", params={"node_id": "pi-2"}, headers=auth).json()
    by_q = client.get("/api/assets", params={"q": "nas.local"}, headers=auth).json()

    walked = [key for page in pages for key in page]
    assert walked == [f"b8:27:eb:00:00:{i:02x}" for i in range(4, -1, -1)] + ["192.168.1.80"]
    assert len(by_vendor["items"]) == 5
    assert [i["ip"] for i in by_node["items"]] == ["192.168.1.80"]
    assert by_q["items"][0]["mdns_names"] == ["nas.local"]
    assert by_q["items"][0]["services"] == []


def test_a_bad_cursor_or_filter_is_a_client_error(api):
    client, auth = api

    assert client.get("/api/assets", params={"cursor": "bm9wZQ"}, headers=auth).status_code == 400
    assert client.get("/api/assets", params={"q": "a\x00b"}, headers=auth).status_code == 422
    assert client.get("/api/assets", params={"node_id": "BAD/ID"}, headers=auth).status_code == 422
