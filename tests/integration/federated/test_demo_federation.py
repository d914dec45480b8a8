"""`fednids demo` runs a real local Flower federation of its sensors: FL rounds reach the
API, the signed global model reaches every sensor, which hot-swaps it."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from tests.integration.demo_process import free_port, get, start_demo

pytestmark = pytest.mark.integration


def test_demo_federation_reaches_the_api_and_the_sensors(tmp_path):
    # prepare
    port = free_port()
    proc, read, _ = start_demo(
        port, "--speed", "3", "--fl-after", "15", "--fl-rounds", "2", "--state-dir", str(tmp_path)
    )
    summary: dict = {}
    try:
        base = f"http://127.0.0.1:{port}/api"
        # execute: wait for the rounds and the model
        deadline = time.monotonic() + 360
        models: dict = {"items": []}
        installed: list[str] = []
        while time.monotonic() < deadline:
            summary = get(f"{base}/fl/summary", read)
            models = get(f"{base}/models", read)
            # the sensors install the announced model asynchronously
            installed = sorted(
                p.parent.parent.name
                for p in tmp_path.glob("sensor-*.models/lstm-ae-2/model.tflite")
            )
            if len(summary["rounds"]) >= 2 and models["items"] and len(installed) == 3:
                break
            time.sleep(2)
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
