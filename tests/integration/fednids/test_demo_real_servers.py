"""`fednids demo` pointed at real servers by URL: the sensors publish to the real Mosquitto,
the hub reads the real Kafka and stores in a fresh PostgreSQL database."""

from __future__ import annotations

import signal
import time
import uuid

import pytest

from tests.integration.demo_process import free_port, get, start_demo

pytestmark = pytest.mark.integration
SENSORS = {"sensor-1", "sensor-2", "sensor-3"}


def test_demo_on_real_mosquitto_kafka_and_postgres(
    tmp_path, kafka_server, mosquitto_server, postgres_server
):
    # prepare: a database of its own
    db = f"demo_{uuid.uuid4().hex[:8]}"
    postgres_server.psql(f"CREATE DATABASE {db} OWNER fednids")
    db_url = postgres_server.url.rsplit("/", 1)[0] + f"/{db}"
    port = free_port()
    proc, read, _ = start_demo(
        port, "--speed", "10", "--mqtt", mosquitto_server.url, "--kafka", kafka_server.url,
        "--db", db_url, "--fl-rounds", "0", "--state-dir", str(tmp_path),
    )  # fmt: skip
    overview: dict = {}
    nodes: dict = {"items": []}
    try:
        base = f"http://127.0.0.1:{port}/api"
        # execute
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            overview = get(f"{base}/overview", read)
            nodes = get(f"{base}/nodes", read)
            if (
                overview["flows_total"] > 100
                and overview["anomalies_total"] > 0
                and len(nodes["items"]) == 3
            ):
                break
            time.sleep(2)
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=90)[0]
    # assert: everything went through the real servers into the new database
    assert overview["flows_total"] > 100, out[-3000:]
    assert overview["anomalies_total"] > 0
    # (the shared broker also holds other tests' retained heartbeats, which the bridge relays)
    assert {n["node_id"] for n in nodes["items"]} >= SENSORS
    assert int(postgres_server.psql("SELECT count(*) FROM flows", db=db)) > 100
    assert proc.returncode == 0
