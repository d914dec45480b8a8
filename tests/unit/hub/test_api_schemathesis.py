"""Property-based requests from the API's own OpenAPI: no input makes it answer 5xx."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings

from hub.api.app import create_app
from hub.settings import HubSettings
from hub.storage import EventStore
from hub.storage.tokens import create_token
from tests.unit.contracts.samples import all_samples


def _app(tmp: str):
    store = EventStore(f"sqlite:///{tmp}/fuzz.db")
    store.create_schema()
    store.insert_events(all_samples())
    return create_app(HubSettings(), store), create_token(store, "fuzz", "operator")


import tempfile  # noqa: E402

_TMP = tempfile.mkdtemp(prefix="fednids-fuzz-")
APP, TOKEN = _app(_TMP)
schema = schemathesis.openapi.from_asgi("/api/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {TOKEN}"}
    response = case.call()
    assert response.status_code < 500, (
        f"{case.method} {case.path}: {response.status_code} {response.text[:300]}"
    )
