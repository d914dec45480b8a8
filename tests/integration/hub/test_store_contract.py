"""One test suite for both store backends: SQLite (embedded) and the real PostgreSQL."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from contracts.events import AlertEvent, AnomalyEvent, NodeStatus
from hub.storage import BadCursor, EventFilter, EventStore, Queries
from hub.storage.tokens import check_token, create_token, list_tokens, token_identity
from tests.unit.contracts.samples import all_samples, flow


def test_inserts_are_idempotent_on_event_id(store):
    events = all_samples() + [flow(flow_id=f"x{i}") for i in range(50)]
    first = store.insert_events(events)
    again = store.insert_events(events)
    assert len(first) == len(events)
    assert again == []


def test_partial_duplicates_return_only_new_events(store):
    a = [flow(flow_id=f"a{i}") for i in range(10)]
    store.insert_events(a[:5])
    fresh = store.insert_events(a)
    assert [e.event_id for e in fresh] == [e.event_id for e in a[5:]]


def test_cursor_pagination_walks_every_row_once(store):
    base = datetime(2026, 1, 1, tzinfo=UTC)
    evs = [
        AnomalyEvent(
            node_id="pi-1",
            detector="rules",
            score=i,
            threshold=1,
            ts=base + timedelta(seconds=i // 3),
        )
        for i in range(37)
    ]
    store.insert_events(evs)
    q, seen, cursor = Queries(store), [], None
    while True:
        page = q.list_events("anomaly", EventFilter(), limit=10, cursor=cursor)
        seen += [i["event_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(str(e.event_id) for e in evs)
    assert len(seen) == 37


def test_filters(store):
    store.insert_events(
        [
            AnomalyEvent(node_id="pi-1", detector="rules", score=1, threshold=1, severity="high"),
            AnomalyEvent(node_id="pi-2", detector="lstm", score=1, threshold=1, severity="low"),
        ]
    )
    q = Queries(store)
    assert [
        i["node_id"] for i in q.list_events("anomaly", EventFilter(node_id="pi-2"))["items"]
    ] == ["pi-2"]
    assert [i["detector"] for i in q.list_events("anomaly", EventFilter(tag="rules"))["items"]] == [
        "rules"
    ]
    assert [
        i["severity"] for i in q.list_events("anomaly", EventFilter(severity="low"))["items"]
    ] == ["low"]
    future = datetime.now(UTC).timestamp() + 3600
    assert q.list_events("anomaly", EventFilter(since=future))["items"] == []


def test_bad_cursor_is_refused(store):
    with pytest.raises(BadCursor):
        Queries(store).list_events("anomaly", EventFilter(), cursor="not-a-cursor")


def test_alert_incidents_deduplicate_and_keep_state(store):
    key = "scan:10.0.0.9"
    store.insert_events(
        [AlertEvent(node_id="hub", incident_key=key, severity="medium", title="scan", count=1)]
    )
    store.insert_events(
        [AlertEvent(node_id="hub", incident_key=key, severity="high", title="scan", count=5)]
    )
    q = Queries(store)
    items = q.list_alerts(None, None)["items"]
    assert len(items) == 1 and items[0]["count"] == 5 and items[0]["severity"] == "high"
    acked = store.set_alert_state(key, "acknowledged", "operator")
    assert acked["status"] == "acknowledged" and acked["acknowledged_by"] == "operator"
    assert store.set_alert_state("nope", "resolved", "operator") is None
    assert [i["alert_id"] for i in q.list_alerts("acknowledged", None)["items"]] == [key]


def test_node_state_follows_the_latest_status(store):
    t = datetime.now(UTC)
    store.insert_events(
        [
            NodeStatus(node_id="pi-9", online=True, ts=t - timedelta(seconds=5)),
            NodeStatus(node_id="pi-9", online=False, reason="last_will", ts=t),
        ]
    )
    store.insert_events(
        [NodeStatus(node_id="pi-9", online=True, ts=t - timedelta(seconds=3))]
    )  # late, older
    nodes = Queries(store).node_states(30)
    assert [(n["node_id"], n["online"], n["reason"]) for n in nodes] == [
        ("pi-9", False, "last_will")
    ]


def test_tokens_are_stored_hashed_and_checked(store):
    tok = create_token(store, "ops", "operator")
    assert check_token(store, tok) == "operator"
    assert check_token(store, tok + "x") is None
    with store.engine.connect() as conn:
        stored = conn.execute(text("SELECT digest FROM api_tokens")).scalar_one()
    assert tok not in stored


def test_tokens_expire_and_only_an_explicit_request_makes_one_that_never_does(store):
    # prepare: a default token, a one-hour one and one that never expires
    default = create_token(store, "soc", "read")
    hour = create_token(store, "script", "read", ttl_s=3600)
    forever = create_token(store, "kiosk", "read", ttl_s=None)
    now = time.time()
    # execute / assert: each is refused from its expiry on, and listed with it
    assert token_identity(store, hour, now=now + 3599) == ("script", "read")
    assert token_identity(store, hour, now=now + 3601) is None
    assert token_identity(store, default, now=now + 89 * 86400) == ("soc", "read")
    assert token_identity(store, default, now=now + 91 * 86400) is None
    assert token_identity(store, forever, now=now + 3650 * 86400) == ("kiosk", "read")
    listed = {t["name"]: t["expires"] for t in list_tokens(store)}
    assert listed["kiosk"] is None
    assert abs(float(listed["script"]) - (now + 3600)) < 60


def test_overview_and_graph_shapes(store):
    store.insert_events(all_samples())
    q = Queries(store)
    ov = q.overview(30)
    assert ov["flows_total"] == 1 and ov["alerts_open"] == 1
    g = q.graph(60)
    assert {"nodes", "edges", "predictions", "sensor_links"} <= g.keys()
    # the sensor that saw the one flow (pi-1, from 192.168.1.10) is linked to its source host
    assert g["sensor_links"] == [{"sensor": "pi-1", "host": "192.168.1.10", "flows": 1}]


def test_alembic_migrations_build_the_same_schema(request, tmp_path):
    """`fednids hub migrate` (Alembic) gives exactly the tables the code expects, on both backends."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from hub.storage.migrate import upgrade
    from hub.storage.schema import metadata

    urls = [f"sqlite:///{tmp_path / 'mig.db'}"]
    pg = request.getfixturevalue("postgres_server")
    schema = f"m{uuid.uuid4().hex[:8]}"
    with EventStore(pg.url).engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    urls.append(pg.url + f"?options=-csearch_path%3D{schema}")
    for url in urls:
        store = EventStore(url)
        upgrade(store)
        with store.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"include_name": _not_a_partition})
            diff = compare_metadata(ctx, metadata)
        assert diff == [], f"{url.split('@')[-1]}: {diff}"


def _not_a_partition(name, type_, _parent):
    """PostgreSQL partitions (flows_p20261201, flows_default) are tables of their own."""
    from hub.storage.partitions import is_partition_name

    return not (type_ == "table" and is_partition_name(name))


test_alembic_migrations_build_the_same_schema = pytest.mark.integration(
    test_alembic_migrations_build_the_same_schema
)
