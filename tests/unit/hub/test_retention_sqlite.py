"""Retention on SQLite (the demo): by age, by size, never today's rows; and the disk-full
classification of the SQLite store (a full file is retried, never quarantined)."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import text

from contracts.events import AnomalyEvent
from hub.errors import RecordRejected, StoreError
from hub.retention_cli import run_loop
from hub.storage import EventStore
from hub.storage.retention import RetentionSettings, run_retention
from hub.storage.retention_sqlite import sqlite_size
from tests.helpers import day_safe_now
from tests.unit.contracts.samples import all_samples, flow

NOW = day_safe_now()  # the one clock of this module: every retention run is given it
T = NOW.timestamp()


def _flows(n: int, age_days: float, tag: str) -> list:
    ts = NOW - timedelta(days=age_days)
    return [flow(flow_id=f"{tag}{i}", ts=ts + timedelta(seconds=i % 600)) for i in range(n)]


def _count(store: EventStore, table: str, where: str = "1=1") -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table} WHERE {where}")).scalar())


@pytest.fixture
def store(tmp_path):
    s = EventStore(f"sqlite:///{tmp_path / 'hub.db'}")
    s.create_schema()
    return s


def test_age_deletes_old_rows_of_each_kind_and_keeps_the_rest(store):
    store.insert_events(_flows(300, 10, "old") + _flows(200, 1, "new"))
    store.insert_events(
        [
            AnomalyEvent(node_id="pi-1", detector="rules", score=1, threshold=1, ts=NOW - d)
            for d in (timedelta(days=40), timedelta(days=41), timedelta(days=2))
        ]
    )
    settings = RetentionSettings(flows_days=7, events_days=30, batch_rows=64)

    report = run_retention(store.engine, settings, now=T)

    assert report.rows_deleted["flows"] == 300
    assert report.rows_deleted["events"] == 2
    assert _count(store, "flows") == 200
    assert _count(store, "events") == 1
    assert report.partitions_dropped == []


def test_incidents_are_kept_longer_and_go_by_last_update(store):
    store.insert_events(all_samples())  # one AlertEvent -> one incident, updated now
    settings = RetentionSettings(alerts_days=365)

    kept = run_retention(store.engine, settings, now=time.time() + 300 * 86400)
    gone = run_retention(store.engine, settings, now=time.time() + 366 * 86400)

    assert kept.rows_deleted["alerts"] == 0
    assert gone.rows_deleted["alerts"] == 1
    assert _count(store, "alerts") == 0


def test_size_cap_deletes_oldest_first_and_never_today(store):
    for age in (5, 4, 3, 2):
        store.insert_events(_flows(1500, age, f"d{age}-"))
    today = _flows(500, 0, "today")
    store.insert_events(today)
    run_retention(store.engine, RetentionSettings(flows_days=30), now=T)  # vacuum mode, baseline
    full = sqlite_size(store.engine)
    cap_mb = full * 0.6 / 1024 / 1024

    report = run_retention(
        store.engine, RetentionSettings(flows_days=30, max_size_mb=cap_mb), now=T
    )

    assert report.size_after <= cap_mb * 1024 * 1024 < report.size_before
    assert report.bytes_freed == report.size_before - report.size_after > 0
    assert not report.over_cap
    assert _count(store, "flows", f"node_id = 'pi-1' AND ts >= {today[0].ts.timestamp()}") == 500
    # oldest first: what is left of the old days is a suffix in time
    with store.engine.connect() as conn:
        oldest_left = conn.execute(text("SELECT min(ts) FROM flows")).scalar()
    assert oldest_left > (NOW - timedelta(days=5, seconds=-600)).timestamp()


def test_a_cap_that_only_today_could_meet_is_reported_not_forced(store):
    today = _flows(800, 0, "t")
    store.insert_events(today)

    report = run_retention(store.engine, RetentionSettings(max_size_mb=0.01), now=T)

    assert report.over_cap
    assert _count(store, "flows") == 800


def test_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("FEDNIDS_RETENTION_FLOWS_DAYS", "3")
    monkeypatch.setenv("FEDNIDS_RETENTION_MAX_SIZE_MB", "512")
    s = RetentionSettings()
    assert (s.flows_days, s.events_days, s.alerts_days, s.max_size_mb) == (3, 30, 365, 512)
    monkeypatch.setenv("FEDNIDS_RETENTION_FLOWS_DAYS", "-1")
    with pytest.raises(ValueError, match="flows_days"):
        RetentionSettings()


def test_the_command_runs_once_and_prints_its_report(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    s = EventStore(url)
    s.create_schema()
    s.insert_events(_flows(50, 20, "x"))

    status = run_loop(url, RetentionSettings(flows_days=7), threading.Event())

    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert status == 0
    assert out["rows_deleted"]["flows"] == 50
    assert out["dialect"] == "sqlite"


def test_a_full_sqlite_file_is_retried_not_quarantined(store):
    """Disk full on SQLite (``max_page_count`` caps the file): StoreError, the class the
    ingestor retries without committing; never RecordRejected (dead_letter)."""
    store.insert_events(_flows(10, 0, "seed"))
    with store.engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()

    @__import__("sqlalchemy").event.listens_for(store.engine, "connect")
    def _cap(dbapi_conn, _rec):  # every new connection of the pool is capped too
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages + 2}")

    store.engine.dispose()
    with pytest.raises(StoreError) as err:
        store.insert_events(_flows(5000, 0, "big"))
    assert not isinstance(err.value, RecordRejected)
    assert "full" in str(err.value)


def test_the_api_metrics_show_the_store_size(store):
    from fastapi.testclient import TestClient

    from hub.api.app import create_app
    from hub.settings import HubSettings

    store.insert_events(_flows(100, 0, "m"))
    client = TestClient(create_app(HubSettings(db_url=store.url), store))

    body = client.get("/metrics").text

    assert "fednids_store_up 1.0" in body
    size = next(line for line in body.splitlines() if line.startswith("fednids_store_bytes "))
    assert float(size.split()[1]) == sqlite_size(store.engine) > 0


def test_metrics_of_a_store_that_does_not_answer_say_so(tmp_path):
    from hub.storage.retention_metrics import StoreCollector

    broken = EventStore(f"sqlite:///{tmp_path / 'missing' / 'no.db'}")  # its folder is absent

    names = {m.name: m.samples[0].value for m in StoreCollector(broken).collect()}

    assert names == {"fednids_store_up": 0}
