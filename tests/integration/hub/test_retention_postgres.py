"""Partitions and retention on the real PostgreSQL: the 0002 -> 0003 upgrade with rows in
it, partitions made on demand and ahead, the DEFAULT partition, drops by age and by size."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from contracts.events import AlertEvent, AnomalyEvent, FlowRecord
from hub.storage import EventStore
from hub.storage.migrate import upgrade
from hub.storage.partitions import DAY, bucket, create_range, list_partitions, partition_name
from hub.storage.retention import RetentionSettings, pg_size, run_retention
from tests.helpers import day_safe_now
from tests.unit.contracts.samples import all_samples, flow

pytestmark = pytest.mark.integration
NOW = day_safe_now()  # the one clock of this module: every retention run is given it
T = NOW.timestamp()
FAR = datetime(2099, 6, 1, tzinfo=UTC)  # the contracts allow times up to 2100


def _url(pg_url: str) -> str:
    schema = f"r{uuid.uuid4().hex[:8]}"
    with EventStore(pg_url).engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    return pg_url + f"?options=-csearch_path%3D{schema}"


def _flows(n: int, when: datetime, tag: str) -> list:
    return [flow(flow_id=f"{tag}{i}", ts=when + timedelta(seconds=i)) for i in range(n)]


def _where(store: EventStore, table: str) -> dict[str, int]:
    """Rows per partition (tableoid)."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            text(f"SELECT tableoid::regclass::text, count(*) FROM {table} GROUP BY 1")
        ).all()
    return {name: int(n) for name, n in rows}


def _day(days_ago: float) -> str:
    return partition_name("flows", bucket((NOW - timedelta(days=days_ago)).timestamp(), 1)[0])


@pytest.fixture
def store(postgres_server):
    s = EventStore(_url(postgres_server.url))
    s.create_schema()
    return s


def test_upgrade_from_0002_partitions_existing_rows_in_one_step(postgres_server):
    url = _url(postgres_server.url)
    old = EventStore(url)
    upgrade(old, "0002")
    evs = [f for d in range(5) for f in _flows(20, NOW - timedelta(days=d), f"d{d}-")]
    samples = [e for e in all_samples() if not isinstance(e, AlertEvent | FlowRecord)]
    evs += _flows(3, FAR, "far") + samples
    assert len(old.insert_events(evs)) == len(evs)
    old.engine.dispose()

    new = EventStore(url)
    upgrade(new)

    parts = _where(new, "flows")
    assert sum(parts.values()) == 100 + 3
    assert all(parts[_day(d)] == 20 for d in range(5)), parts
    assert parts["flows_default"] == 3  # 2099: outside every range
    assert sum(_where(new, "events").values()) == len(samples)
    with new.engine.connect() as conn:
        kinds = conn.execute(
            text(
                "SELECT relkind FROM pg_class WHERE relname IN ('flows', 'events')"
                " AND relnamespace = current_schema()::regnamespace"
            )
        ).scalars()
        leftovers = conn.execute(text("SELECT to_regclass('flows_old')")).scalar()
    assert set(kinds) == {"p"} and leftovers is None
    assert new.insert_events(evs) == []  # still idempotent on event_id
    assert len(new.insert_events([flow(flow_id="after")])) == 1


def test_every_insert_finds_a_partition_made_on_demand_or_the_default(store):
    yesterday = NOW - timedelta(days=1)
    evs = _flows(5, yesterday, "y") + _flows(5, FAR, "z") + _flows(5, NOW, "n")

    assert len(store.insert_events(evs)) == 15

    parts = _where(store, "flows")
    assert parts == {_day(1): 5, "flows_default": 5, _day(0): 5}
    assert store.partitions is not None and store.partitions.created >= 1


def test_a_range_whose_rows_sit_in_the_default_is_split_out(store):
    assert store.partitions is not None
    store.partitions.back_days = 0  # no partition on demand for the past: they land in DEFAULT
    old = NOW - timedelta(days=3)
    store.insert_events(_flows(7, old, "o"))
    assert _where(store, "flows") == {"flows_default": 7}

    with store.engine.begin() as conn:
        name = create_range(conn, "flows", *bucket(old.timestamp(), 1))

    assert name == _day(3)
    assert _where(store, "flows") == {_day(3): 7}


def test_age_drops_whole_partitions_and_trims_the_default_by_rows(store):
    for d in (12, 9, 8, 1, 0):
        store.insert_events(_flows(30, NOW - timedelta(days=d), f"d{d}-"))
    with store.engine.begin() as conn:  # what the job made back when those days were current
        for d in (12, 9, 8):
            create_range(conn, "flows", *bucket((NOW - timedelta(days=d)).timestamp(), 1))
    store.insert_events(_flows(4, NOW - timedelta(days=400), "ancient") + _flows(2, FAR, "f"))
    store.insert_events(
        [AnomalyEvent(node_id="pi-1", detector="rules", score=1, threshold=1, ts=NOW)]
    )

    report = run_retention(store.engine, RetentionSettings(flows_days=7, events_days=30), now=T)

    assert sorted(report.partitions_dropped) == sorted(_day(d) for d in (12, 9, 8))
    assert report.rows_deleted["flows"] == 90
    assert report.rows_deleted["flows_default"] == 4  # 400 days old; 2099 stays
    assert report.bytes_freed > 0
    names = {p.name for p in _list(store)}
    assert {"flows_default", _day(0), _day(1)} <= names
    assert _where(store, "flows") == {_day(1): 30, _day(0): 30, "flows_default": 2}
    assert _where(store, "events") == {partition_name("events", bucket(T, 1)[0]): 1}


def _list(store: EventStore) -> list:
    with store.engine.connect() as conn:
        return list_partitions(conn, "flows") + list_partitions(conn, "events")


def test_size_cap_drops_the_oldest_partitions_first_never_today_nor_default(store):
    for d in (6, 5, 4, 3, 0):
        when = NOW - timedelta(days=d)
        with store.engine.begin() as conn:
            create_range(conn, "flows", *bucket(when.timestamp(), 1))
        store.insert_events(_flows(400, when, f"d{d}-"))
    store.insert_events(_flows(10, FAR, "f"))
    settings = RetentionSettings(flows_days=30)
    run_retention(store.engine, settings, now=T)  # partitions ahead made: the size is stable now
    with store.engine.connect() as conn:
        size = pg_size(conn)
    by_name = {p.name: p for p in _list(store)}
    oldest, second = by_name[_day(6)], by_name[_day(5)]
    cap_mb = (size - oldest.bytes + second.bytes / 2) / 1024 / 1024  # one partition's worth

    one = run_retention(store.engine, RetentionSettings(flows_days=30, max_size_mb=cap_mb), now=T)
    tiny = run_retention(store.engine, RetentionSettings(flows_days=30, max_size_mb=0.001), now=T)

    assert one.partitions_dropped == [_day(6)] and not one.over_cap
    assert one.size_after <= cap_mb * 1024 * 1024
    assert sorted(tiny.partitions_dropped) == sorted(_day(d) for d in (5, 4, 3))
    assert tiny.over_cap  # only today's partition, future ones and DEFAULT are left
    assert _where(store, "flows") == {_day(0): 400, "flows_default": 10}


def test_partitions_are_made_ahead_by_the_job(store):
    now = time.time()
    report = run_retention(store.engine, RetentionSettings(ahead_days=6), now=now)

    today = bucket(now, 1)[0]
    ahead = {partition_name("flows", today + d * DAY) for d in range(7)}
    assert ahead <= {p.name for p in _list(store)}
    assert set(report.partitions_created) >= {_day(-6)}


def test_a_changed_partition_width_never_overlaps_existing_ones(store):
    day = bucket(time.time(), 1)[0] + 10 * DAY
    with store.engine.begin() as conn:
        create_range(conn, "flows", day + 2 * DAY, day + 3 * DAY)  # a narrow one inside
        weekly = create_range(conn, "flows", day, day + 7 * DAY)  # PARTITION_DAYS=7 now
        again = create_range(conn, "flows", day + 2 * DAY, day + 3 * DAY)

    ranges = {(p.lo, p.hi) for p in _list(store) if p.table == "flows" and not p.is_default}
    assert weekly == partition_name("flows", day)
    assert {(day, day + 2 * DAY), (day + 2 * DAY, day + 3 * DAY)} <= ranges
    assert again is None


def test_the_store_metrics_count_partitions_and_the_oldest_kept(store):
    from hub.storage.retention_metrics import StoreCollector

    old = NOW - timedelta(days=1)
    store.insert_events(_flows(3, old, "m"))

    samples = {
        (s.name, s.labels.get("table")): s.value
        for m in StoreCollector(store).collect()
        for s in m.samples
    }

    assert samples[("fednids_store_up", None)] == 1
    assert samples[("fednids_store_bytes", None)] > 0
    assert samples[("fednids_store_partitions", "flows")] >= 5  # yesterday, today, 3 ahead
    assert samples[("fednids_store_oldest_seconds", "flows")] == bucket(old.timestamp(), 1)[0]
