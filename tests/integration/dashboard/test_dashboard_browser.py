"""The dashboard in a real browser (playwright-core driving Debian's Chromium) against a
running ``fednids demo``: every page renders without console errors, live events arrive,
an operator token acknowledges / resolves an alert and a read token cannot, and the fleet
page shows a sensor going offline. Screenshots land in reports/screenshots/."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
DASH = REPO / "dashboard"
SHOTS = REPO / "reports" / "screenshots"
CHROMIUM = os.environ.get("FEDNIDS_CHROMIUM", "/usr/bin/chromium")
OFFLINE_AFTER_S = 20
FL_ROUNDS = 4


def seed_fl_events(db_url: str, nodes: list[str]) -> None:
    """The demo runs no federated rounds yet: write the FL events a ServerApp would publish
    (hub/fl/events.py) into the demo's own store, so the FL page has rounds to show."""
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


@dataclass
class RunningDemo:
    url: str
    operator: str
    read: str
    ready_s: float
    dashboard_s: float


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def built_dashboard() -> Path:
    assert shutil.which("node"), "node is needed (scripts/system-deps.sh installs it)"
    env = dict(os.environ, PYTHON=sys.executable)
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "build-dashboard.sh")],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"build failed:\n{proc.stdout}\n{proc.stderr}"
    assert (DASH / "dist" / "index.html").is_file()
    return DASH / "dist"


@pytest.fixture(scope="module")
def demo(built_dashboard: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDemo]:
    port = _free_port()
    state = tmp_path_factory.mktemp("demo")
    log = (state / "demo.log").open("w+")
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "fednids", "demo", "--port", str(port), "--duration", "120",
         "--speed", "3", "--offline-after", str(OFFLINE_AFTER_S), "--state-dir", str(state)],
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        tokens: dict[str, str] = {}
        ready_s = 0.0
        while time.monotonic() - t0 < 90 and len(tokens) < 2:
            assert proc.poll() is None, f"the demo exited:\n{(state / 'demo.log').read_text()}"
            for line in (state / "demo.log").read_text().splitlines():
                parts = line.split()
                if line.startswith("fednids demo ready") and not ready_s:
                    ready_s = time.monotonic() - t0
                if len(parts) == 3 and parts[1] == "token":
                    tokens[parts[0]] = parts[2]
            time.sleep(0.1)
        assert len(tokens) == 2, f"no tokens printed:\n{(state / 'demo.log').read_text()}"
        seed_fl_events(f"sqlite:///{state / 'hub.db'}", ["sensor-1", "sensor-2", "sensor-3"])
        url = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{url}/", timeout=10) as r:
            page = r.read().decode()
        assert '<div id="root">' in page, "the demo does not serve the built dashboard"
        yield RunningDemo(url, tokens["operator"], tokens["read"], ready_s, time.monotonic() - t0)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_dashboard_in_chromium(demo: RunningDemo) -> None:
    # prepare
    assert Path(CHROMIUM).is_file(), f"{CHROMIUM} is missing (scripts/system-deps.sh installs it)"
    env = dict(
        os.environ,
        DASH_URL=demo.url,
        OPERATOR_TOKEN=demo.operator,
        READ_TOKEN=demo.read,
        OFFLINE_NODE="sensor-3",
        FL_ROUNDS=str(FL_ROUNDS),  # the demo takes its last sensor offline
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
    result["demo_dashboard_served_s"] = round(demo.dashboard_s, 2)
    (REPO / "reports").mkdir(exist_ok=True)
    (REPO / "reports" / "dashboard-e2e.json").write_text(json.dumps(result, indent=2) + "\n")
    assert proc.returncode == 0, (
        "browser tests failed:\n"
        + "\n".join(result.get("failures", []))
        + f"\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    )
    assert len(result["screenshots"]) >= 8
    assert all(Path(REPO, p).is_file() or Path(p).is_file() for p in result["screenshots"])
