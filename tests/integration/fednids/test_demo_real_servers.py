"""`fednids demo` pointed at real servers by URL: the sensors publish to the real Mosquitto,
the hub reads the real Kafka and stores in a fresh PostgreSQL database."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest

pytestmark = pytest.mark.integration
SENSORS = {"sensor-1", "sensor-2", "sensor-3"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, token: str) -> dict:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return dict(json.loads(r.read()))


def test_demo_on_real_mosquitto_kafka_and_postgres(
    tmp_path, kafka_server, mosquitto_server, postgres_server
):
    # prepare: a database of its own
    db = f"demo_{uuid.uuid4().hex[:8]}"
    postgres_server.psql(f"CREATE DATABASE {db} OWNER fednids")
    db_url = postgres_server.url.rsplit("/", 1)[0] + f"/{db}"
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "fednids", "demo", "--port", str(port), "--speed", "10",
         "--mqtt", mosquitto_server.url, "--kafka", kafka_server.url, "--db", db_url,
         "--fl-rounds", "0", "--state-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines: list[str] = []
    overview: dict = {}
    nodes: dict = {"items": []}
    try:
        while not any("read token" in x for x in lines):
            line = proc.stdout.readline()  # type: ignore[union-attr]
            assert line, "".join(lines)
            lines.append(line)
        read = next(x for x in lines if "read token" in x).split()[-1]
        base = f"http://127.0.0.1:{port}/api"
        # execute
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            overview = _get(f"{base}/overview", read)
            nodes = _get(f"{base}/nodes", read)
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
