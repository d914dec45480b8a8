"""`fednids demo` end to end: it starts, prints its URL and tokens, stores events from the
simulated sensors, serves the console, shows a sensor going offline, and stops on SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str | None = None) -> dict:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


def test_demo_runs_end_to_end(tmp_path):
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fednids",
            "demo",
            "--port",
            str(port),
            "--speed",
            "20",
            "--offline-after",
            "6",
            "--state-dir",
            str(tmp_path),
            "--fl-rounds",
            "0",  # the federation has its own test (tests/integration/fl)
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("read token" in x for x in lines):
            lines.append(proc.stdout.readline())  # type: ignore[union-attr]
        read = next(x for x in lines if "read token" in x).split()[-1]
        assert any(f"http://127.0.0.1:{port}/" in x for x in lines)
        assert _get(f"http://127.0.0.1:{port}/api/health") == {"status": "ok"}
        overview, nodes = {}, {"items": []}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            overview = _get(f"http://127.0.0.1:{port}/api/overview", read)
            nodes = _get(f"http://127.0.0.1:{port}/api/nodes", read)
            offline = [n for n in nodes["items"] if not n["online"]]
            seen = overview["flows_total"] > 100 and overview["anomalies_total"] > 0
            if seen and overview["alerts_open"] > 0 and offline:
                break
            time.sleep(1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            page = r.read().decode()
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=60)[0]
    assert overview["flows_total"] > 100
    assert overview["anomalies_total"] > 0
    assert overview["alerts_open"] > 0
    assert overview["nodes_total"] == 3
    assert [n["node_id"] for n in nodes["items"] if not n["online"]] == ["sensor-3"]
    assert "fednids" in page
    assert proc.returncode == 0, out[-2000:]
    assert "fednids demo stopped" in out
