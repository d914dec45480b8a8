"""``GET /api/intel``: the threat-intel status the importers write, as the dashboard lists it;
no setting, no file or a broken file answer an empty status, never a server error."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.intel.common import FeedDefaults
from hub.intel.feeds import import_feeds
from hub.intel.store import status_path
from hub.settings import HubSettings
from hub.storage import EventStore
from hub.storage.tokens import create_token


def _client(tmp_path: Path, status: Path | None) -> tuple[TestClient, dict[str, str]]:
    store = EventStore(f"sqlite:///{tmp_path / 'api.db'}")
    store.create_schema()
    rd = create_token(store, "rd", "read")
    app = create_app(HubSettings(intel_status=str(status) if status else None), store)
    return TestClient(app), {"Authorization": f"Bearer {rd}"}


def test_lists_sources_counts_and_last_import(tmp_path: Path) -> None:
    # prepare: two plain-list imports into one bundle, as `fednids-intel import` makes them
    bundle = tmp_path / "intel" / "bundle.json"
    (tmp_path / "a.txt").write_text("198.51.100.7\n203.0.113.9\n")
    (tmp_path / "b.txt").write_text("c2.bad.example\n")
    now = time.time()
    import_feeds([tmp_path / "a.txt"], FeedDefaults(source="feodo", now=now), bundle)
    import_feeds([tmp_path / "b.txt"], FeedDefaults(source="urlhaus", now=now), bundle)
    client, rd = _client(tmp_path, status_path(bundle))
    # execute
    res = client.get("/api/intel", headers=rd)
    anonymous = client.get("/api/intel")
    # assert
    assert (res.status_code, anonymous.status_code) == (200, 401)
    got = res.json()
    assert got["configured"] is True and got["error"] is None
    assert got["count"] == 3 and isinstance(got["version"], int)
    assert {c["key"]: c["count"] for c in got["by_type"]} == {"ipv4": 2, "domain": 1}
    sources = {s["name"]: s for s in got["sources"]}
    assert sources["feodo"]["indicators"] == 2 and sources["feodo"]["parsed"] == 2
    assert sources["urlhaus"]["indicators"] == 1 and sources["urlhaus"]["imported_at"]
    assert got["published"] is None


def test_no_setting_is_an_empty_unconfigured_status(tmp_path: Path) -> None:
    client, rd = _client(tmp_path, None)
    got = client.get("/api/intel", headers=rd).json()
    assert got["configured"] is False and got["count"] == 0 and got["sources"] == []


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (None, "no threat intel imported yet"),
        ("{not json", "unreadable intel status"),
        ("[1, 2]", "unreadable intel status"),
        (json.dumps({"count": "many", "sources": {"x": {"parsed": "lots"}}}), "unreadable"),
        (json.dumps({"published": {"version": "v"}}), "unreadable"),
    ],
)
def test_a_missing_or_broken_file_is_an_empty_status(tmp_path: Path, content, error) -> None:
    # prepare
    path = tmp_path / "bundle.status.json"
    if content is not None:
        path.write_text(content)
    client, rd = _client(tmp_path, path)
    # execute
    res = client.get("/api/intel", headers=rd)
    # assert
    assert res.status_code == 200
    got = res.json()
    assert got["configured"] is True and error in got["error"] and got["count"] == 0
