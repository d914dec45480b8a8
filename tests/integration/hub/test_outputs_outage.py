"""An output outage on the real Kafka: ``fednids hub outputs`` runs as its own process; its
webhook and syslog receivers are down while alerts flow, then come back. Every alert arrives
at each receiver (distinct incidents == sent; duplicates, which at-least-once allows, are
counted), each output's lag metric shows the backlog and goes back to 0, SIGTERM stops it.
The state it writes to the store (``--db``, read by ``GET /api/outputs``) follows: down and
lagging by N, then up with its Kafka cursor at the end of every partition."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from contracts import encode
from contracts.events import AlertEvent
from contracts.transports import open_publisher, parse_url
from contracts.transports.kafka import ensure_topics
from hub.storage import EventStore
from hub.storage.output_state import list_output_states
from tests.harness.base import Server
from tests.harness.http_receiver import HttpReceiver
from tests.harness.rsyslog import RsyslogServer

pytestmark = pytest.mark.integration
SYSLOG_PORT = 26611
N = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _lags(port: int) -> dict[str, float]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return {}
    return {
        m[1]: float(m[2])
        for m in re.finditer(r'fednids_output_lag_records\{output="([^"]+)"\} (\S+)', text)
    }


def _wait(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def test_outage_then_recovery_delivers_every_alert_and_lag_returns_to_zero(
    kafka_server: Server, tmp_path: Path
) -> None:
    # prepare: a private input topic, receivers down, the outputs process started
    run = uuid.uuid4().hex[:8]
    topic = f"alerts-outage-{run}"
    ensure_topics(parse_url(kafka_server.url), [topic], partitions=3)
    hook = HttpReceiver().start()
    hook_port = hook.port
    hook.stop()
    syslog = RsyslogServer(port=SYSLOG_PORT)
    syslog.stop()
    syslog.clear()
    metrics_port = _free_port()
    store = EventStore(f"sqlite:///{tmp_path / 'hub.db'}")
    store.create_schema()

    def states() -> dict[str, dict]:
        return {r["name"]: r for r in list_output_states(store)}

    cfg = tmp_path / "outputs.toml"
    cfg.write_text(
        f'kafka_url = "{kafka_server.url}"\ntopics = ["{topic}"]\ngroup_prefix = "outage-{run}"\n'
        f"metrics_port = {metrics_port}\nretry_initial_s = 0.2\nretry_max_s = 1.0\n"
        f'[[output]]\nname = "hook"\ntype = "webhook"\nurl = "http://127.0.0.1:{hook_port}/in"\ntimeout_s = 2\n'
        f'[[output]]\nname = "syslog"\ntype = "syslog"\nhost = "127.0.0.1"\nport = {SYSLOG_PORT}\ntimeout_s = 2\n'
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fednids.cli",
            "hub",
            "outputs",
            "--config",
            str(cfg),
            "--db",
            store.url,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        _wait(
            lambda: bool(_lags(metrics_port)) or proc.poll() is not None, 60, "the metrics endpoint"
        )
        assert proc.poll() is None
        pub = open_publisher(kafka_server.url)
        alerts = [
            AlertEvent(
                node_id="hub",
                incident_key=f"scan:10.9.{i // 250}.{i % 250}",
                severity="high",
                title=f"scan {i}",
                family="scan",
            )
            for i in range(N)
        ]
        for a in alerts:
            pub.publish(topic, encode(a), key=b"hub")
        assert pub.flush(30) == 0
        # execute: the backlog shows as lag on both outputs while their receivers are down
        _wait(
            lambda: _lags(metrics_port) == {"hook": N, "syslog": N}, 60, f"lag {N} on both outputs"
        )
        _wait(
            lambda: all(
                s.get(n, {}).get("lag_records") == N and not s[n]["up"]
                for s in [states()]
                for n in ("hook", "syslog")
            ),
            60,
            "the store showing both outputs down by N",
        )
        down = states()
        hook = HttpReceiver(port=hook_port).start()
        syslog.start()
        _wait(lambda: _lags(metrics_port) == {"hook": 0, "syslog": 0}, 90, "lag 0 after recovery")
        _wait(
            lambda: all(s.get("lag_records") == 0 and s["up"] for s in states().values()),
            30,
            "the store showing both outputs caught up",
        )
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        hook.stop()
        got_syslog = syslog.messages()
        syslog.stop()
    # assert: every incident once or more at each receiver; duplicates counted
    sent = Counter(a.incident_key for a in alerts)
    by_hook = Counter(r.json()["alert"]["context"]["fednids"]["incident_key"] for r in hook.taken())
    by_syslog = Counter(
        json.loads(m["msg"])["alert"]["context"]["fednids"]["incident_key"] for m in got_syslog
    )
    for name, got in (("webhook", by_hook), ("syslog", by_syslog)):
        dupes = sum(got.values()) - len(got)
        print(f"{name}: {len(got)} distinct of {N} sent, {dupes} duplicate(s)")
        assert set(got) == set(sent), name
    assert code == 0, proc.stdout.read().decode() if proc.stdout else ""
    back = states()
    for name in ("hook", "syslog"):
        assert down[name]["consecutive_failures"] >= 1 and down[name]["last_error"], name
        assert down[name]["counts"].get("sent", 0) == 0, name
        assert back[name]["up"] and back[name]["consecutive_failures"] == 0, name
        assert back[name]["lag_seconds"] == 0.0, name
        assert sorted(back[name]["cursor"]) == [f"{topic}:{p}" for p in range(3)], name
        assert sum(back[name]["cursor"].values()) == N, name
        assert back[name]["counts"]["sent"] >= N, name
