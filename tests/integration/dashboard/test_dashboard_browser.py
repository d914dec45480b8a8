"""The dashboard in a real browser (playwright-core driving Debian's Chromium) against a
running ``fednids demo``: every page renders without console errors, live events arrive,
an operator token acknowledges / resolves an alert and a read token cannot, the fleet page
shows a sensor going offline, and the live feed reconnects by itself after a hub restart.
Screenshots land in reports/screenshots/, results in reports/dashboard-e2e.json."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
from pathlib import Path

import pytest
from dashboard_demo import CHROMIUM, DASH, REPO, DemoPool

pytestmark = pytest.mark.integration

SHOTS = REPO / "reports" / "screenshots"
OFFLINE_AFTER_S = 20
FL_ROUNDS = 4
# no Flower federation here (minutes of CPU): the FL page gets FL events seeded into the store
SCENARIO = ["--duration", "120", "--speed", "3", "--fl-rounds", "0"]


def seed_fl_events(db_url: str, nodes: list[str]) -> None:
    """The demo's own federation takes minutes of CPU (--fl-rounds 0 here): write the FL
    events its ServerApp publishes (hub/fl/events.py) into the demo's store instead, so the FL
    page has rounds to show."""
    from contracts.events import FLEvent
    from hub.storage import EventStore

    evs: list[FLEvent] = []
    for rnd in range(1, FL_ROUNDS + 1):
        for i, node in enumerate(nodes):
            evs.append(
                FLEvent(node_id=node, role="client", round=rnd, phase="fit", samples=500 + i,
                        epsilon=0.4 * rnd + 0.1 * i, delta=1e-5, budget_epsilon=3.0,
                        budget_left=3.0 - 0.4 * rnd - 0.1 * i, model_version=f"lstm-ae-{rnd}")
            )  # fmt: skip
        evs.append(
            FLEvent(node_id="hub", role="server", round=rnd, phase="aggregate", loss=0.5 / rnd,
                    participants=len(nodes), samples=500 * len(nodes), duration_s=2.0 + rnd)
        )  # fmt: skip
    store = EventStore(db_url)
    try:
        store.insert_events(evs)
    finally:
        store.engine.dispose()


def test_dashboard_in_chromium(demos: DemoPool) -> None:
    # prepare
    demo = demos.new("main", *SCENARIO, "--offline-after", str(OFFLINE_AFTER_S)).start()
    seed_fl_events(f"sqlite:///{demo.state / 'hub.db'}", ["sensor-1", "sensor-2", "sensor-3"])
    env = dict(
        os.environ,
        DASH_URL=demo.url,
        OPERATOR_TOKEN=demo.tokens["operator"],
        READ_TOKEN=demo.tokens["read"],
        OFFLINE_NODE="sensor-3",  # the demo takes its last sensor offline
        FL_ROUNDS=str(FL_ROUNDS),
        SCREENSHOT_DIR=str(SHOTS),
        CHROMIUM=CHROMIUM,
    )
    # execute
    proc = subprocess.run(
        ["node", str(DASH / "e2e" / "run.mjs")],
        cwd=REPO, env=env, check=False, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    # assert
    out = proc.stdout.strip().splitlines()
    result = json.loads(out[-1]) if out and out[-1].startswith("{") else {}
    result["demo_ready_s"] = round(demo.ready_s, 2)
    result["demo_dashboard_served_s"] = round(demo.served_s, 2)
    (REPO / "reports").mkdir(exist_ok=True)
    (REPO / "reports" / "dashboard-e2e.json").write_text(json.dumps(result, indent=2) + "\n")
    assert proc.returncode == 0, (
        "browser tests failed:\n"
        + "\n".join(result.get("failures", []))
        + f"\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    )
    assert len(result["screenshots"]) >= 10
    assert all(Path(p).is_file() for p in result["screenshots"])


def _lines(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    q: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            q.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    return q


def _expect(q: queue.Queue[str], prefix: str, timeout: float, err: str) -> str:
    try:
        line = q.get(timeout=timeout)
    except queue.Empty:
        raise AssertionError(f"no {prefix!r} from the browser within {timeout}s\n{err}") from None
    assert line.startswith(prefix), f"expected {prefix!r}, got {line!r}\n{err}"
    return line


def test_live_feed_reconnects_after_a_hub_restart(demos: DemoPool) -> None:
    # prepare: a demo, and a browser whose live feed is flowing
    first = demos.new("restart", "--duration", "120", "--fl-rounds", "0").start()
    env = dict(os.environ, DASH_URL=first.url, OPERATOR_TOKEN=first.tokens["operator"])
    browser = subprocess.Popen(
        ["node", str(DASH / "e2e" / "reconnect.mjs")],
        cwd=REPO, env=dict(env, CHROMIUM=CHROMIUM), stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        lines = _lines(browser)
        _expect(lines, "LIVE", 40, first.log())
        # execute: stop the hub; the page notices; start it again on the same port and state
        first.stop()
        _expect(lines, "DOWN", 30, "")
        second = demos.new(
            "restart", "--duration", "120", "--fl-rounds", "0", port=first.port
        ).start()
        assert browser.stdin is not None
        browser.stdin.write("UP\n")
        browser.stdin.flush()
        # assert: the page reconnected by itself and events flow again
        result = json.loads(_expect(lines, "{", 90, second.log()))
        (REPO / "reports").mkdir(exist_ok=True)
        (REPO / "reports" / "dashboard-reconnect.json").write_text(json.dumps(result) + "\n")
        assert result["ok"], f"{result}\n{browser.stderr.read() if browser.stderr else ''}"
        assert browser.wait(timeout=30) == 0
    finally:
        if browser.poll() is None:
            browser.kill()
            browser.wait()
