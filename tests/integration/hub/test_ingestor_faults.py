"""The ingestor between the real Kafka and the real PostgreSQL: exact counts through faults."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
from sqlalchemy import text

from contracts import encode
from contracts.deadletter import read_dead_letter
from contracts.transports import open_publisher, open_subscriber, parse_url
from contracts.transports.kafka import ensure_topics
from hub.storage import EventStore
from tests.harness.servers import KafkaServer, PostgresServer
from tests.unit.contracts.samples import flow

pytestmark = pytest.mark.integration


def _schema_url(pg_url: str) -> str:
    schema = f"i{uuid.uuid4().hex[:8]}"
    with EventStore(pg_url).engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    return pg_url + f"?options=-csearch_path%3D{schema}"


def _ingestor(kafka_url: str, db_url: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "fednids", "hub", "ingestor", "--kafka", kafka_url, "--db", db_url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _send(
    kafka_url: str,
    node: str,
    n: int,
    start: int = 0,
    pause_every: int = 0,
    confirmed: list[int] | None = None,
    pause_s: float = 0.05,
) -> set[str]:
    """``n`` flows; ``confirmed[0]`` counts those Kafka confirmed so far."""
    pub = open_publisher(kafka_url)
    ids = set()
    for i in range(start, start + n):
        ev = flow(node_id=node, flow_id=f"f{i}")
        ids.add(str(ev.event_id))
        pub.publish("network_data", encode(ev), key=node.encode())
        if pause_every and i % pause_every == 0:
            if pub.flush(30) == 0 and confirmed is not None:
                confirmed[0] = i - start + 1
            time.sleep(pause_s)
    assert pub.flush(60) == 0
    if confirmed is not None:
        confirmed[0] = n
    return ids


def _rows(db_url: str, node: str) -> tuple[int, int]:
    store = EventStore(db_url)
    try:
        with store.engine.connect() as conn:
            total, distinct = conn.execute(
                text("SELECT COUNT(*), COUNT(DISTINCT event_id) FROM flows WHERE node_id = :n"),
                {"n": node},
            ).one()
        return int(total), int(distinct)
    except Exception:
        return (0, 0)
    finally:
        store.engine.dispose()


def _wait_rows(db_url: str, node: str, want: int, timeout: float = 90) -> tuple[int, int]:
    deadline = time.monotonic() + timeout
    got = (0, 0)
    while time.monotonic() < deadline:
        got = _rows(db_url, node)
        if got[0] >= want:
            break
        time.sleep(0.3)
    return got


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def test_kill_9_of_the_ingestor_gives_exact_counts(kafka_server, postgres_server):
    ensure_topics(parse_url(kafka_server.url), ["network_data", "dead_letter"])
    db = _schema_url(postgres_server.url)
    node = f"i{uuid.uuid4().hex[:6]}"
    proc = _ingestor(kafka_server.url, db)
    confirmed = [0]
    in_flight = 0
    try:
        feeder = threading.Thread(
            target=_send,
            args=(kafka_server.url, node, 4000, 0, 500),
            kwargs={"confirmed": confirmed, "pause_s": 0.5},
        )
        feeder.start()
        # kill only once events are provably in flight: confirmed by Kafka, not yet stored.
        # The ingestor is frozen (SIGSTOP) mid-stream so that a loaded machine, where it keeps
        # up with the feeder, cannot let the window close before the kill.
        _wait_rows(db, node, 1)
        proc.send_signal(signal.SIGSTOP)
        counting = EventStore(db).engine
        with counting.connect() as conn:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and in_flight <= 0:
                sent_so_far = confirmed[0]
                stored = conn.execute(
                    text("SELECT COUNT(*) FROM flows WHERE node_id = :n"), {"n": node}
                ).scalar()
                conn.commit()
                in_flight = sent_so_far - int(stored or 0)
                time.sleep(0.05)
            proc.send_signal(signal.SIGKILL)
        counting.dispose()
        proc.wait(10)
        proc = _ingestor(kafka_server.url, db)
        feeder.join(60)
        total, distinct = _wait_rows(db, node, 4000)
    finally:
        _stop(proc)
    assert in_flight > 0, "killed with nothing in flight"
    assert (total, distinct) == (4000, 4000)


def test_postgres_restart_mid_stream_gives_exact_counts(kafka_server):
    pg = PostgresServer(port=25432)
    pg.start()
    ensure_topics(parse_url(kafka_server.url), ["network_data", "dead_letter"])
    db = _schema_url(pg.url)
    node = f"p{uuid.uuid4().hex[:6]}"
    proc = _ingestor(kafka_server.url, db)
    try:
        _send(kafka_server.url, node, 1000)
        _wait_rows(db, node, 1)
        pg.stop()
        _send(kafka_server.url, node, 1000, start=1000)  # arrives while the database is down
        time.sleep(2)
        pg.start()
        total, distinct = _wait_rows(db, node, 2000)
        alive = proc.poll() is None
    finally:
        _stop(proc)
        pg.stop()
    assert alive
    assert (total, distinct) == (2000, 2000)


def test_kafka_restart_mid_stream_gives_exact_counts(postgres_server):
    kafka = KafkaServer(port=29292)
    kafka.start()
    ensure_topics(parse_url(kafka.url), ["network_data", "dead_letter"])
    db = _schema_url(postgres_server.url)
    node = f"k{uuid.uuid4().hex[:6]}"
    proc = _ingestor(kafka.url, db)
    try:
        _send(kafka.url, node, 1000)
        kafka.restart()
        _send(kafka.url, node, 1000, start=1000)
        total, distinct = _wait_rows(db, node, 2000, timeout=120)
    finally:
        _stop(proc)
        kafka.stop()
    assert (total, distinct) == (2000, 2000)


def test_undecodable_records_go_to_dead_letter(kafka_server, postgres_server):
    ensure_topics(parse_url(kafka_server.url), ["network_data", "dead_letter"])
    db = _schema_url(postgres_server.url)
    node = f"d{uuid.uuid4().hex[:6]}"
    marker = f"garbage-{node}".encode()
    dl = open_subscriber(kafka_server.url, ["dead_letter"], group=f"dl-{node}")
    proc = _ingestor(kafka_server.url, db)
    try:
        pub = open_publisher(kafka_server.url)
        for _ in range(20):
            pub.publish("network_data", marker + b"\x00\xff", key=node.encode())
        pub.flush(30)
        _send(kafka_server.url, node, 100)
        total, _ = _wait_rows(db, node, 100)
        found, deadline = [], time.monotonic() + 60
        while len(found) < 20 and time.monotonic() < deadline:
            for m in dl.poll(0.5):
                rec = read_dead_letter(m.value)
                if rec["payload"].startswith(marker):
                    found.append(rec)
        alive = proc.poll() is None
    finally:
        _stop(proc)
        dl.close()
    assert alive and total == 100
    assert (
        len(found) == 20
        and found[0]["service"] == "ingestor"
        and "Invalid JSON" in found[0]["reason"]
    )
