"""Loss windows on the real servers: Mosquitto SIGKILLed mid-stream, Kafka down for a while.

Each counts exactly: every event an agent had confirmed (its outbox row deleted) is in
PostgreSQL (or Kafka) once, by event id."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence

import pytest
from sqlalchemy import text

from benchmarks.kafka_outage import run as kafka_outage
from contracts import decode
from contracts.transports import TransportOptions, open_publisher, parse_url
from contracts.transports.kafka import ensure_topics
from edge_agent.outbox import Outbox
from edge_agent.uplink import Uplink, UplinkConfig
from hub.storage import EventStore
from tests.harness.servers import KafkaServer, MosquittoServer
from tests.integration.bridge.test_bridge_real import TOPICS, _bridge
from tests.integration.helpers import FlowFeeder
from tests.integration.hub.test_ingestor_faults import _schema_url

pytestmark = pytest.mark.integration
MQTT_PORT = 21964
KAFKA_PORT = 29692
KILLS = 3


class RecordingOutbox(Outbox):
    """Remembers the event id of every row deleted: what the broker confirmed to the agent."""

    def __init__(self, *a, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*a, **kw)
        self.acked: set[uuid.UUID] = set()

    def delete(self, ids: Sequence[int]) -> None:
        if ids:
            marks = ",".join("?" * len(ids))
            with self._lock:
                rows = self._db.execute(
                    f"SELECT payload FROM outbox WHERE id IN ({marks})",
                    list(ids),
                ).fetchall()
            self.acked.update(decode(bytes(p)).event_id for (p,) in rows)
        super().delete(ids)


@pytest.fixture(scope="module")
def private_kafka() -> Iterator[KafkaServer]:
    kafka = KafkaServer(port=KAFKA_PORT)
    kafka.wipe()
    kafka.start()
    ensure_topics(parse_url(kafka.url), TOPICS)
    yield kafka
    kafka.stop()


def _pg_ids(db: str, node: str) -> tuple[int, set[str]]:
    store = EventStore(db)
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT event_id FROM flows WHERE node_id = :n"), {"n": node}
            ).all()
        return len(rows), {str(r[0]) for r in rows}
    except Exception:
        return 0, set()
    finally:
        store.engine.dispose()


def test_mosquitto_sigkill_mid_stream_loses_nothing_acked(tmp_path, private_kafka, postgres_server):
    # prepare: a private Mosquitto, the bridge (shared subscription), the ingestor into a
    # fresh schema, and an agent's outbox + uplink staging 400 events/s
    broker = MosquittoServer(port=MQTT_PORT)
    broker.wipe()
    broker.start()
    db = _schema_url(postgres_server.url)
    node = f"k{uuid.uuid4().hex[:6]}"
    cmd = [sys.executable, "-m", "fednids", "hub", "ingestor", "--kafka", private_kafka.url]
    ingestor = subprocess.Popen(
        [*cmd, "--db", db],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    bridge = _bridge(broker.url, private_kafka.url, f"br-{node}")
    ob = RecordingOutbox(tmp_path / "o.db")
    pub = open_publisher(broker.url, TransportOptions(client_id=f"agent-{node}"))
    up = Uplink(node, ob, pub, UplinkConfig(retry_backoff_s=0.5, max_backoff_s=2))
    feeder = FlowFeeder(ob, node, per_tick=40)
    try:
        up.start()
        feeder.start()
        time.sleep(4.0)
        # execute: three SIGKILLs mid-stream; each time the broker comes back from its own
        # snapshot, and agent and bridge reconnect in either order
        acked_before_kill = []
        for _ in range(KILLS):
            acked_before_kill.append(len(ob.acked))
            broker.kill()
            time.sleep(1.0)
            broker.start()
            time.sleep(4.0)
        feeder.close()
        drained = up.drain(90)
        acked = {str(i) for i in ob.acked}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not acked <= _pg_ids(db, node)[1]:
            time.sleep(0.5)
        rows, stored = _pg_ids(db, node)
        codes = dict(getattr(pub, "not_delivered", {}))
    finally:
        feeder.close()
        up.stop()
        pub.close()
        for proc in (bridge, ingestor):
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        broker.stop()
    # assert: the kill happened mid-stream, every acked event is stored exactly once
    assert acked_before_kill[0] > 0 and acked_before_kill == sorted(set(acked_before_kill))
    assert drained, f"{len(ob)} rows still in the outbox"
    assert {str(i) for i in feeder.staged} == acked
    missing = acked - stored
    assert not missing, f"{len(missing)} of {len(acked)} acked events not in PostgreSQL ({codes})"
    assert rows == len(stored) == len(acked)


def test_kafka_down_for_20s_loses_nothing():
    # prepare + execute: 5 simulated agents through a private Mosquitto and the real bridge;
    # a private Kafka stopped for 20 s mid-stream
    result = kafka_outage(
        nodes=5, outage_s=20, rate=20, before_s=5, after_s=5, mqtt_port=21967, kafka_port=29792
    )
    # assert: exact counts
    assert result["events_sent"] > 1000
    assert result["agents_drained"]
    assert result["events_received"] == result["events_sent"]
    assert result["events_lost"] == 0
