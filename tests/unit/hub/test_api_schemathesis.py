"""Property-based requests from the API's own OpenAPI on SQLite: no input makes it answer >= 500,
with an operator token, with the token the case generated (hostile) and with no token; and the
answers with a token conform to the documented response models and status codes. Cases are
valid (positive) and invalid (negative) by the schema, and a real incident for the actions.

The PostgreSQL twin is tests/integration/hub/test_api_schemathesis_postgres.py; both take the
example count from FEDNIDS_SCHEMATHESIS_EXAMPLES (default 25 here, 500 there)."""

from __future__ import annotations

import base64
import json
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from hub.api.app import create_app
from hub.settings import HubSettings
from hub.storage import EventStore
from hub.storage.tokens import create_token
from tests.unit.contracts.samples import all_samples

EXAMPLES = int(os.environ.get("FEDNIDS_SCHEMATHESIS_EXAMPLES", "25"))
CONFORMANCE = [response_schema_conformance, status_code_conformance]


def seeded_schema(store: EventStore) -> tuple[Any, str]:
    """A schemathesis schema of the API over ``store`` (seeded), and an operator token."""
    store.create_schema()
    store.insert_events(all_samples())
    token = create_token(store, "fuzz", "operator")
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", create_app(HubSettings(), store))
    return schema, token


def _cursor(ts: Any, key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps([ts, key]).encode()).decode()


HOSTILE: list[tuple[str, str, dict[str, Any], dict[str, str]]] = [
    # (method, path, query, headers): each answered >= 500 on PostgreSQL before the fix
    ("GET", "/api/anomalies", {"node_id": "\x00"}, {}),
    ("GET", "/api/flows/stats", {"node_id": "pi\x00"}, {}),
    ("GET", "/api/anomalies", {"cursor": _cursor(1.0, "a\x00b")}, {}),
    ("GET", "/api/alerts", {"cursor": _cursor(1.0, "a\x00b")}, {}),
    ("GET", "/api/anomalies", {"cursor": _cursor(10**400, "a")}, {}),
    ("GET", "/api/anomalies", {"since": "0001-01-01T00:00:00"}, {}),
    ("GET", "/api/anomalies", {"until": "0001-01-01T00:00:00+01:00"}, {}),
    ("POST", "/api/alerts/a%00b/resolve", {}, {}),
    ("GET", "/api/overview", {}, {"Authorization": "Bearer fnd_\x00aaaaaaaaaaaa"}),
]


def assert_hostile_inputs_never_answer_5xx(store: EventStore, token: str) -> None:
    """Known-hostile inputs (found by hand beside the fuzzer) never answer 5xx."""
    with TestClient(create_app(HubSettings(), store), raise_server_exceptions=False) as client:
        got = {}
        for method, path, query, headers in HOSTILE:
            sent = {"Authorization": f"Bearer {token}"} | headers
            got[(method, path, str(query))] = client.request(
                method, path, params=query, headers=sent
            ).status_code
    assert {k: v for k, v in got.items() if v >= 500} == {}


def exercise(case: Any, token: str, statuses: Counter[int] | None = None) -> None:
    """One generated case three ways; none may answer >= 500."""
    generated = dict(case.headers or {})
    without = {k: v for k, v in generated.items() if k.lower() != "authorization"}
    for label, headers in (
        ("operator token", {**without, "Authorization": f"Bearer {token}"}),
        ("generated token", generated),
        ("no token", without),
    ):
        case.headers = headers
        response = case.call()
        if statuses is not None:
            statuses[response.status_code] += 1
        assert response.status_code < 500, (
            f"{label}: {case.method} {case.formatted_path} {case.query}: "
            f"{response.status_code} {response.text[:300]}"
        )
        if label == "operator token":
            case.validate_response(response, checks=CONFORMANCE)


@pytest.fixture(scope="module")
def sqlite_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    store = EventStore(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}")
    yield seeded_schema(store)
    store.engine.dispose()


def operations() -> list[tuple[str, str]]:
    """(path, method) of every operation in the OpenAPI (the store does not shape it)."""
    spec = create_app(HubSettings(), EventStore("sqlite://")).openapi()
    return [(path, method.upper()) for path, ops in sorted(spec["paths"].items()) for method in ops]


def run_operation(schema: Any, path: str, method: str, token: str, examples: int) -> None:
    """``examples`` generated cases of one operation, each through ``exercise``; prints the
    count of cases and the answers' status codes (``pytest -s`` shows them)."""
    statuses: Counter[int] = Counter()

    op = schema[path][method]
    strategies = [
        op.as_strategy(mode) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    ]
    if "{alert_id}" in path:  # also a real incident, or the action's success path is never hit
        key = schema.app.state.queries.list_alerts(None, None, 1)["items"][0]["alert_id"]
        strategies.append(op.as_strategy(path_parameters={"alert_id": key}))

    @given(case=st.one_of(strategies))
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def run(case: Any) -> None:
        exercise(case, token, statuses)

    run()
    cases = sum(statuses.values()) // 3
    print(f"schemathesis {method} {path}: {cases} cases, statuses {dict(sorted(statuses.items()))}")


@pytest.mark.parametrize(("path", "method"), operations())
def test_no_server_errors(sqlite_schema: tuple[Any, str], path: str, method: str) -> None:
    run_operation(sqlite_schema[0], path, method, sqlite_schema[1], EXAMPLES)


def test_hostile_inputs_never_answer_5xx(sqlite_schema: tuple[Any, str], tmp_path: Any) -> None:
    store = EventStore(f"sqlite:///{tmp_path / 'hostile.db'}")
    _schema, token = seeded_schema(store)
    assert_hostile_inputs_never_answer_5xx(store, token)
