"""The database's disk fills: the ingestor keeps retrying the same batch (no Kafka commit, no
dead letter), retention drops the old partitions, ingestion resumes, every event is stored.

A private PostgreSQL (its own data dir, port 25532) keeps the event tables in a tablespace on a
size-limited tmpfs (mounted as root; the test is skipped where mounting is impossible). The
ingestor runs in-process on the real Kafka with a private topic and consumer group; it is
stopped once mid-outage and a new one started on the same group, so a batch whose offset had
been committed on failure would be missing from the final count.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from contracts import encode
from contracts.events import AnomalyEvent
from contracts.transports import open_publisher, open_subscriber, parse_url
from contracts.transports.kafka import ensure_topics
from hub.errors import StoreError
from hub.ingestor import Ingestor
from hub.storage import EventStore
from hub.storage.partitions import bucket, create_range
from hub.storage.retention import RetentionSettings, run_retention
from tests.harness.servers import PostgresServer
from tests.helpers import day_safe_now
from tests.unit.contracts.samples import flow

pytestmark = pytest.mark.integration
PORT = 25532
DISK_MB = 16
N = 3000
NOW = day_safe_now()


@pytest.fixture
def small_pg():
    """A private PostgreSQL whose tablespace ``small`` sits on a DISK_MB tmpfs."""
    if os.geteuid() != 0:  # make test runs as root (the harness installs Debian packages too)
        pytest.fail("the disk-full test mounts a size-limited tmpfs: run make test as root")
    pg = PostgresServer(port=PORT)
    pg.stop()
    shutil.rmtree(pg.data, ignore_errors=True)  # a fresh cluster: no tablespace of a past run
    mnt = pg.dir / "small"
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True, check=False)
    mnt.mkdir(exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m,mode=0700", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"cannot mount the test's {DISK_MB} MB tmpfs: {done.stderr.strip()}")
    try:
        pg.start()
        shutil.chown(mnt, pg._os_user())
        pg.psql(f"CREATE TABLESPACE small LOCATION '{mnt}'")
        pg.psql("GRANT CREATE ON TABLESPACE small TO fednids")
        yield pg
    finally:
        pg.stop()
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, check=False)
        shutil.rmtree(pg.data, ignore_errors=True)


def _fill(store: EventStore) -> int:
    """Old flows (partitions 3..9 days ago, as the job made them then) until the disk is full."""
    with store.engine.begin() as conn:
        for d in range(3, 10):
            create_range(conn, "flows", *bucket((NOW - timedelta(days=d)).timestamp(), 1))
    stored = 0
    for b in range(400):
        day = NOW - timedelta(days=3 + b % 7, hours=1)
        batch = [flow(node_id="old", flow_id=f"o{b}-{i}", ts=day) for i in range(2000)]
        try:
            stored += len(store.insert_events(batch))
        except StoreError as exc:
            assert "No space left on device" in str(exc) or "could not extend" in str(exc)
            return stored
    raise AssertionError(f"the {DISK_MB} MB disk never filled ({stored} rows)")


def _count(store: EventStore, node: str) -> tuple[int, int]:
    """(rows, distinct event ids) of ``node`` in flows and events together."""
    with store.engine.connect() as conn:
        total, distinct = conn.execute(
            text(
                "SELECT count(*), count(DISTINCT event_id) FROM (SELECT event_id FROM flows"
                " WHERE node_id = :n UNION ALL SELECT event_id FROM events WHERE node_id = :n) u"
            ),
            {"n": node},
        ).one()
    return int(total), int(distinct)


def _start(
    kafka_url: str, topic: str, group: str, db: str
) -> tuple[Ingestor, threading.Thread, threading.Event]:
    ing = Ingestor(
        open_subscriber(kafka_url, [topic], group=group), EventStore(db), open_publisher(kafka_url)
    )
    stop = threading.Event()
    t = threading.Thread(target=ing.run, args=(stop,), daemon=True)
    t.start()
    return ing, t, stop


def _wait(cond, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.25)
    return cond()


def test_disk_full_is_retried_until_retention_frees_space(small_pg, kafka_server, caplog):
    caplog.set_level(logging.WARNING, logger="hub.ingestor")
    db = small_pg.url + "?options=-cdefault_tablespace%3Dsmall"
    store = EventStore(db)
    store.create_schema()
    filled = _fill(store)
    topic, group, node = (f"diskfull-{uuid.uuid4().hex[:8]}" for _ in range(3))
    ensure_topics(parse_url(kafka_server.url), [topic, "dead_letter"], partitions=1)
    pub = open_publisher(kafka_server.url)
    for i in range(N):  # flows (COPY path) and anomalies (INSERT path), interleaved
        ev = (
            flow(node_id=node, flow_id=f"n{i}")
            if i % 10
            else AnomalyEvent(node_id=node, detector="rules", score=1, threshold=1)
        )
        pub.publish(topic, encode(ev), key=node.encode())
    assert pub.flush(60) == 0

    # the disk is full: the first ingestor retries, stores nothing more, commits nothing
    first, t1, stop1 = _start(kafka_server.url, topic, group, db)
    assert _wait(lambda: first.retries >= 2, 60), "the disk-full write was not retried"
    assert t1.is_alive()
    stop1.set()
    t1.join(30)
    stored_during_outage = _count(store, node)[0]
    # a second ingestor on the same group: it must get the uncommitted batches again
    second, t2, stop2 = _start(kafka_server.url, topic, group, db)
    try:
        assert _wait(lambda: second.retries >= 1, 60)
        report = run_retention(store.engine, RetentionSettings(flows_days=2), now=NOW.timestamp())
        assert _wait(lambda: _count(store, node) == (N, N), 120), _count(store, node)
    finally:
        stop2.set()
        t2.join(30)
    assert not t2.is_alive()
    disk_full_logged = [r for r in caplog.records if "No space left" in r.getMessage()]
    print(
        f"disk-full: {filled} old rows filled {DISK_MB} MB; {stored_during_outage} of {N} stored"
        f" while full; retries {first.retries}+{second.retries}; retention dropped"
        f" {len(report.partitions_dropped)} partitions, {report.bytes_freed / 2**20:.1f} MB"
    )

    assert filled > 0 and stored_during_outage < N
    assert len(report.partitions_dropped) == 7 and report.bytes_freed > 0
    assert first.dead == second.dead == 0  # nothing quarantined to dead_letter
    assert disk_full_logged
    assert _count(store, node) == (N, N)
    assert second.stored + first.stored == N
