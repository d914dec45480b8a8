"""The dashboard's Outputs page in Chromium against a running ``fednids demo``: a real outputs
process (``run_outputs``, two webhook outputs on an in-process broker, real HTTP receivers)
writes its state into the demo's store; the page shows the output whose receiver is down as
unhealthy with its error and a growing lag, the other one healthy, and the down one healthy
and caught up once its receiver is back (``dashboard/e2e/outputs.mjs``). Results in
reports/dashboard-outputs-e2e.json, screenshots reports/screenshots/outputs-{down,recovered}.png."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
from dashboard_demo import CHROMIUM, DASH, REPO, DemoPool

from contracts import encode
from contracts.events import AlertEvent
from contracts.transports import open_publisher
from contracts.transports.memory import MemoryBroker
from hub.outputs.config import OutputsSettings
from hub.outputs.runner import run_outputs
from tests.harness.http_receiver import HttpReceiver

pytestmark = pytest.mark.integration
PENDING = 6


def _recover_when(flag: Path, rx: HttpReceiver, stop: threading.Event) -> None:
    while not stop.wait(0.1):
        if flag.exists():
            rx.status = 200
            return


def test_outputs_page_shows_a_down_output_and_its_recovery(demos: DemoPool, tmp_path: Path) -> None:
    # prepare: a demo (API + built dashboard), an outputs process writing into its store
    demo = demos.new("outputs", "--duration", "120", "--speed", "3", "--fl-rounds", "0").start()
    broker = f"memory://dash-outputs-{uuid.uuid4().hex[:8]}"
    dead, live = HttpReceiver(status=503).start(), HttpReceiver().start()
    settings = OutputsSettings(
        kafka_url=broker, metrics_port=None, retry_initial_s=0.2, retry_max_s=0.5,
        db_url=f"sqlite:///{demo.state / 'hub.db'}", state_every_s=0.5,
        outputs=[
            {"name": "ticketing", "type": "webhook", "url": dead.url},
            {"name": "siem", "type": "webhook", "url": live.url},
        ],
    )  # fmt: skip
    pub = open_publisher(broker)
    for i in range(PENDING):
        pub.publish("alerts", encode(AlertEvent(
            node_id="hub", incident_key=f"scan:10.7.0.{i}", severity="high", title=f"scan {i}",
            family="scan", nodes=["sensor-1"],
        )))  # fmt: skip
    stop = threading.Event()
    flag = tmp_path / "recover"
    threads = [
        threading.Thread(target=run_outputs, args=(settings, stop), daemon=True),
        threading.Thread(target=_recover_when, args=(flag, dead, stop), daemon=True),
    ]
    for t in threads:
        t.start()
    env = dict(
        os.environ, DASH_URL=demo.url, READ_TOKEN=demo.tokens["read"], RECOVER_FILE=str(flag),
        PENDING=str(PENDING), SCREENSHOT_DIR=str(REPO / "reports" / "screenshots"),
        CHROMIUM=CHROMIUM,
    )  # fmt: skip
    try:
        # execute
        t0 = time.monotonic()
        proc = subprocess.run(
            ["node", str(DASH / "e2e" / "outputs.mjs")],
            cwd=REPO, env=env, check=False, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        took = time.monotonic() - t0
    finally:
        stop.set()
        for t in threads:
            t.join(20)
        dead.stop()
        live.stop()
        MemoryBroker.reset(broker.removeprefix("memory://"))
    # assert
    out = proc.stdout.strip().splitlines()
    result = json.loads(out[-1]) if out and out[-1].startswith("{") else {}
    result["seconds"] = round(took, 1)
    (REPO / "reports").mkdir(exist_ok=True)
    (REPO / "reports" / "dashboard-outputs-e2e.json").write_text(
        json.dumps(result, indent=2) + "\n"
    )
    assert proc.returncode == 0, (
        "browser tests failed:\n" + "\n".join(result.get("failures", []))
        + f"\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}\n--- demo\n{demo.log()[-3000:]}"
    )  # fmt: skip
    assert len(result["checks"]) == 4 and all(c["ok"] for c in result["checks"])
    keys = {r.json()["alert"]["context"]["fednids"]["incident_key"] for r in dead.taken()}
    assert keys == {f"scan:10.7.0.{i}" for i in range(PENDING)}  # nothing lost in the outage
