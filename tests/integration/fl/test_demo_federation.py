"""`fednids demo` runs a real local Flower federation of its sensors: FL rounds reach the
API, the signed global model reaches every sensor, which hot-swaps it."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, token: str) -> dict:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return dict(json.loads(r.read()))


def test_demo_federation_reaches_the_api_and_the_sensors(tmp_path):
    # prepare
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "fednids", "demo", "--port", str(port), "--speed", "3",
         "--fl-after", "15", "--fl-rounds", "2", "--state-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines: list[str] = []
    summary: dict = {}
    try:
        while not any("read token" in x for x in lines):
            line = proc.stdout.readline()  # type: ignore[union-attr]
            assert line, "".join(lines)
            lines.append(line)
        read = next(x for x in lines if "read token" in x).split()[-1]
        base = f"http://127.0.0.1:{port}/api"
        # execute: wait for the rounds and the model
        deadline = time.monotonic() + 360
        models: dict = {"items": []}
        while time.monotonic() < deadline:
            summary = _get(f"{base}/fl/summary", read)
            models = _get(f"{base}/models", read)
            if len(summary["rounds"]) >= 2 and models["items"]:
                break
            time.sleep(2)
        installed = sorted(
            p.parent.parent.name for p in tmp_path.glob("sensor-*.models/lstm-ae-2/model.tflite")
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=90)[0]
    # assert
    assert [r["round"] for r in summary["rounds"]] == [1, 2], out[-3000:]
    assert all(r["participants"] == 3 for r in summary["rounds"])
    assert {n["node_id"] for n in summary["nodes"]} == {"sensor-1", "sensor-2", "sensor-3"}
    assert all(0 < n["epsilon"] <= 3.0 + 1e-6 for n in summary["nodes"])
    assert [m["version"] for m in models["items"]] == [2]
    assert installed == ["sensor-1.models", "sensor-2.models", "sensor-3.models"]
    assert "installed and running lstm-ae-2" in out
    assert proc.returncode == 0
    # no Flower process outlives the demo
    left = subprocess.run(
        ["pgrep", "-f", str(tmp_path / "fl")], capture_output=True, text=True, check=False
    )
    assert left.stdout.strip() == "", left.stdout
