"""API tokens can be listed (never their secrets) and revoked: a revoked token is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hub.errors import HubError
from hub.storage import EventStore
from hub.storage.tokens import check_token, create_token, list_tokens, revoke_token


@pytest.fixture
def store(tmp_path: Path) -> EventStore:
    s = EventStore(f"sqlite:///{tmp_path / 'hub.db'}")
    s.create_schema()
    return s


def test_a_revoked_token_is_refused_and_others_keep_working(store: EventStore) -> None:
    # prepare
    stolen = create_token(store, "laptop", "operator")
    kept = create_token(store, "soc", "read")
    assert check_token(store, stolen) == "operator"
    # execute
    revoke_token(store, "laptop")
    # assert
    assert check_token(store, stolen) is None
    assert check_token(store, kept) == "read"
    assert [t["name"] for t in list_tokens(store)] == ["soc"]


def test_listing_never_shows_a_secret_and_revoking_an_unknown_name_is_an_error(
    store: EventStore,
) -> None:
    # prepare
    token = create_token(store, "soc", "read")
    # execute
    listed = list_tokens(store)
    # assert
    assert listed[0]["prefix"] == token[:12]
    assert all(token not in str(v) for v in listed[0].values())
    with pytest.raises(HubError, match="no token named"):
        revoke_token(store, "nobody")


def test_the_api_refuses_a_revoked_token(store: EventStore) -> None:
    # prepare
    from hub.api.app import create_app
    from hub.settings import HubSettings

    token = create_token(store, "laptop", "read")
    client = TestClient(create_app(HubSettings.model_construct(), store))
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/overview", headers=headers).status_code == 200
    # execute
    revoke_token(store, "laptop")
    # assert
    assert client.get("/api/overview", headers=headers).status_code == 401
