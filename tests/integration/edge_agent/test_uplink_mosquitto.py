"""The agent against the real Mosquitto: every event arrives through a broker outage, a
broker restart and kill -9 of the agent; the last will marks a dead agent offline."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid

import pytest

from contracts import decode, decode_batch
from contracts.transports import TransportOptions, open_subscriber
from edge_agent.agent import Agent
from edge_agent.settings import AgentSettings
from tests.harness.servers import MosquittoServer

pytestmark = pytest.mark.integration


class Collector:
    """A persistent QoS 1 subscriber that counts event ids per node."""

    def __init__(self, url: str, node: str) -> None:
        self.ids: set[uuid.UUID] = set()
        self.statuses: list = []
        self.sub = open_subscriber(
            url,
            [f"fednids/v1/{node}/+"],
            group="",
            options=TransportOptions(
                client_id=f"collector-{node}", clean_start=False, session_expiry_s=300
            ),
        )
        self.sub.wait_subscribed(15)  # type: ignore[attr-defined]
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            msgs = self.sub.poll(0.2)
            for m in msgs:
                for ev in decode_batch(m.value):
                    self.ids.add(ev.event_id)
                    if ev.kind == "status":
                        self.statuses.append(ev)
            self.sub.ack(msgs)

    def wait_for(self, ids: set[uuid.UUID], timeout: float = 60) -> set[uuid.UUID]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not ids <= self.ids:
            time.sleep(0.2)
        return ids - self.ids

    def close(self) -> None:
        self._stop.set()
        self._t.join(5)
        self.sub.close()


class RecordingAgent(Agent):
    """Remembers the id of every event it hands to its outbox."""

    def _stage(self, events):  # type: ignore[no-untyped-def]
        self.generated = getattr(self, "generated", set()) | {e.event_id for e in events}
        super()._stage(events)


def _settings(tmp_path, url, node, source):
    return AgentSettings(
        node_id=node,
        source=source,
        mqtt_url=url,
        outbox_path=tmp_path / f"{node}.db",
        heartbeat_s=1.0,
        status_interval_s=1.0,
    )


def test_every_event_arrives(tmp_path, mosquitto_server):
    node = f"n{uuid.uuid4().hex[:6]}"
    col = Collector(mosquitto_server.url, node)
    agent = RecordingAgent(
        _settings(tmp_path, mosquitto_server.url, node, "sim:mixed?seed=2&duration=90")
    )
    result = agent.run(threading.Event())
    missing = col.wait_for(agent.generated)
    col.close()
    assert result["flows"] > 1000
    assert not missing, f"{len(missing)} of {len(agent.generated)} events lost"


@pytest.mark.parametrize("fault", ["outage", "restart"])
def test_broker_outage_and_restart_lose_nothing(tmp_path, fault):
    # prepare: a private broker, a persistent collector, an agent replaying at 15x real time
    broker = MosquittoServer(port=21891 if fault == "outage" else 21892)
    broker.start()
    node = f"n{uuid.uuid4().hex[:6]}"
    col = Collector(broker.url, node)
    agent = RecordingAgent(
        _settings(tmp_path, broker.url, node, "sim:mixed?seed=4&duration=120&speed=15")
    )
    runner = threading.Thread(target=agent.run, args=(threading.Event(), 60.0))
    try:
        # execute: the broker goes away mid-stream and comes back
        runner.start()
        time.sleep(2.5)
        if fault == "outage":
            broker.stop()
            time.sleep(3.0)  # the agent keeps producing into its outbox meanwhile
            depth_during = len(agent.outbox)
            broker.start()
        else:
            broker.restart()
            depth_during = -1
        runner.join(120)
        missing = col.wait_for(agent.generated, timeout=60)
    finally:
        col.close()
        broker.stop()
    # assert
    assert not runner.is_alive()
    assert fault != "outage" or depth_during > 0, (
        "the outbox should have grown while the broker was down"
    )
    assert len(agent.generated) > 1000
    assert not missing, f"{len(missing)} of {len(agent.generated)} events lost"


def _pending_ids(db) -> set[uuid.UUID]:
    con = sqlite3.connect(db)
    rows = con.execute("SELECT payload FROM outbox").fetchall()
    con.close()
    return {decode(bytes(p)).event_id for (p,) in rows}


def _depth(db) -> int:
    """Rows the agent committed and the broker has not confirmed yet (0 before it exists)."""
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return int(con.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def _committed(db) -> int:
    """Every row the outbox ever committed (AUTOINCREMENT ids are never reused)."""
    con = sqlite3.connect(db)
    seq = con.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
    dropped = con.execute("SELECT v FROM meta WHERE k = 'dropped'").fetchone()
    con.close()
    assert dropped is None or dropped[0] == 0
    return int(seq[0])


def test_kill_9_of_the_agent_loses_nothing_and_fires_the_last_will(tmp_path, mosquitto_server):
    node = f"n{uuid.uuid4().hex[:6]}"
    db = tmp_path / "outbox.db"
    col = Collector(mosquitto_server.url, node)
    cmd = [
        sys.executable,
        "-m",
        "fednids",
        "agent",
        "run",
        "--node-id",
        node,
        "--mqtt",
        mosquitto_server.url,
        "--outbox",
        str(db),
    ]
    # a paced replay, killed mid-stream while rows are provably in flight
    agent = subprocess.Popen(
        [*cmd, "--source", "sim:mixed?seed=6&duration=200&speed=10"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(4)
    in_flight = 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and in_flight == 0:
        in_flight = _depth(db)
    os.kill(agent.pid, signal.SIGKILL)
    agent.wait(10)
    pending = _pending_ids(db)
    received_before = len(col.ids)
    # the last will says the node is offline
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not any(s.reason == "last_will" for s in col.statuses):
        time.sleep(0.2)
    assert any(s.reason == "last_will" and not s.online for s in col.statuses)
    # restart on the same outbox: what was pending is delivered
    again = subprocess.run(
        [*cmd, "--source", "sim:benign?seed=1&duration=2&hosts=2"],
        timeout=120,
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 0, again.stderr[-2000:]
    missing = col.wait_for(pending, timeout=60)
    committed = _committed(db)
    wills = {s.event_id for s in col.statuses if s.reason == "last_will"}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(col.ids - wills) < committed:
        time.sleep(0.2)
    received = len(col.ids - wills)
    col.close()
    assert in_flight > 0, "killed with nothing in flight"
    assert received_before > 0
    assert not missing, f"{len(missing)} of {len(pending)} pending events lost after kill -9"
    assert received == committed, f"received {received} of {committed} committed events"
