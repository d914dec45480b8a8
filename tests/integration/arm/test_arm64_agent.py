"""The edge agent on 64-bit ARM (Raspberry Pi OS bookworm), under qemu user-mode emulation.

The session fixture builds (or reuses) an aarch64 CPython 3.11 sysroot with the ``edge`` extra
installed by pip running under emulation (tests/arm/setup-sysroot.sh, cached in
~/.cache/fednids/arm64). Each test then runs aarch64 Python on this repository's code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from bridge.mqtt_security import MqttSecurity, listener_fragment, render_acl
from contracts import FLOW_FEATURES, decode_batch
from contracts.transports import TransportOptions, open_subscriber
from edge_agent.agent import load_scorer
from edge_agent.capture import open_source, write_pcap
from edge_agent.capture.sim import SimConfig, simulate
from edge_agent.detectors.lstm import load_model
from edge_agent.pipeline import Pipeline
from edge_agent.settings import AgentSettings
from provisioning.hub import provision_hub
from provisioning.node import ProvisionRequest, provision
from tests.harness.servers import MosquittoServer

# the first test also pays for a cold setup (about 1.5-3 min, downloads included)
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

ROOT = Path(__file__).resolve().parents[3]
ARM = ROOT / "tests" / "arm"
MODEL = ROOT / "models" / "artifacts" / "lstm-ae"
TLS_PORT = 22095
SCORE_TOLERANCE = 0.02  # relative; int8 kernels may round one quantum apart on NEON vs AVX


@pytest.fixture(scope="module")
def arm64() -> None:
    """Build or refresh the aarch64 environment (cold ~1 min, warm a few seconds)."""
    t0 = time.monotonic()
    proc = subprocess.run(
        ["bash", str(ARM / "setup-sysroot.sh")],
        env={**os.environ, "ARM64_HOST_PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"arm64 setup failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    sys.stderr.write(f"\narm64 setup: {time.monotonic() - t0:.1f}s\n")


def run_arm(
    args: list[str], timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the aarch64 python of the sysroot on this repository's code."""
    full_env = {**os.environ, "ARM64_PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        ["bash", str(ARM / "run-arm64.sh"), *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_the_emulated_python_is_aarch64_and_the_agent_imports_without_torch(arm64):
    # execute
    proc = run_arm(
        [
            "-c",
            "import json, platform, sys; import edge_agent.agent, edge_agent.detectors.lstm; "
            "print(json.dumps([platform.machine(), sorted(m for m in ('torch', 'tensorflow', "
            "'fastapi', 'confluent_kafka') if m in sys.modules)]))",
        ]
    )
    # assert
    assert proc.returncode == 0, proc.stderr
    machine, heavy = json.loads(proc.stdout.strip().splitlines()[-1])
    assert machine == "aarch64"
    assert heavy == []


def test_flow_golden_tests_pass_on_aarch64(arm64):
    # prepare
    files = sorted(
        str(p.relative_to(ROOT)) for p in (ROOT / "tests/unit/edge_agent").glob("test_flows_*.py")
    )
    assert files, "no flow golden tests found"
    # execute: no conftest (it would start servers); the golden tests need only tmp_path
    proc = run_arm(["-m", "pytest", "--noconftest", "-p", "no:cacheprovider", "-q", *files])
    # assert
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout


def _windows(n: int) -> np.ndarray:
    """Flow windows from the simulator (benign and attack) in the model's input shape."""
    meta = json.loads((MODEL / "metadata.json").read_text())
    window = int(meta["window"])
    pipe = Pipeline("arm-score")
    spec = "sim:mixed?seed=21&hosts=6&duration=120"
    flows = [e for p in open_source(spec) for e in pipe.feed(p)] + pipe.close()
    feats = np.asarray([f.features for f in flows if f.kind == "flow"], dtype=np.float32)
    assert feats.shape[1] == len(FLOW_FEATURES) and len(feats) >= window + n
    step = (len(feats) - window) // n
    return np.stack([feats[i * step : i * step + window] for i in range(n)])


def test_tflite_detector_scores_match_x86_on_the_shipped_model(arm64, tmp_path):
    # prepare: x86 scores in this process
    windows = _windows(40)
    np.save(tmp_path / "windows.npy", windows)
    model = load_model(MODEL)
    x86 = np.asarray([model.score(w) for w in windows])
    # execute
    proc = run_arm([str(ARM / "score_windows.py"), str(MODEL), str(tmp_path / "windows.npy")])
    # assert
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["machine"] == "aarch64" and out["version"] == model.version
    arm = np.asarray(out["scores"])
    assert arm.shape == x86.shape
    np.testing.assert_allclose(arm, x86, rtol=SCORE_TOLERANCE, atol=1e-4)
    # the same verdicts against the calibrated threshold, away from its immediate neighbourhood
    clear = np.abs(x86 - model.threshold) > SCORE_TOLERANCE * model.threshold
    assert ((arm > model.threshold) == (x86 > model.threshold))[clear].all()


class _Collector:
    """QoS 1 subscriber on the real broker counting distinct events per kind for one node."""

    def __init__(self, url: str, node: str, options: TransportOptions | None = None) -> None:
        self.kinds: dict[uuid.UUID, str] = {}
        self.sub = open_subscriber(
            url,
            [f"fednids/v1/{node}/+"],
            group="",
            options=options
            or TransportOptions(client_id=f"arm-collector-{node}", clean_start=True),
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
                    self.kinds[ev.event_id] = ev.kind
            self.sub.ack(msgs)

    def counts(self) -> Counter[str]:
        return Counter(self.kinds.values())

    def close(self) -> None:
        self._stop.set()
        self._t.join(5)
        self.sub.close()


def test_agent_on_aarch64_replays_a_capture_into_the_real_mosquitto(
    arm64, mosquitto_server, tmp_path
):
    # prepare: a small capture from the simulator, and the flows x86 finds in it
    pcap = tmp_path / "replay.pcap"
    frames = simulate(SimConfig(scenario="ssh_bruteforce", seed=33, hosts=4, duration=60)).frames
    write_pcap(pcap, frames)
    # the agent's own stack, as `fednids agent run --model-dir MODEL` builds it, on x86
    x86_settings = AgentSettings(
        node_id="x86", model_dir=MODEL, outbox_path=tmp_path / "x86" / "outbox.db"
    )
    pipe = Pipeline("x86", [load_scorer(x86_settings)])
    x86 = Counter(e.kind for p in open_source(f"pcap:{pcap}") for e in pipe.feed(p))
    x86.update(e.kind for e in pipe.close())
    node = f"arm-{uuid.uuid4().hex[:8]}"
    collector = _Collector(mosquitto_server.url, node)
    try:
        # execute
        proc = run_arm(
            [
                "-m",
                "fednids",
                "agent",
                "run",
                "--source",
                f"pcap:{pcap}",
                "--mqtt",
                mosquitto_server.url,
                "--node-id",
                node,
                "--outbox",
                str(tmp_path / "outbox.db"),
                "--model-dir",
                str(MODEL),
                "--heartbeat",
                "2",
            ],
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr[-4000:]
        line = next(x for x in proc.stderr.splitlines() if "agent stopped:" in x)
        result = json.loads(line.split("agent stopped:", 1)[1])
        want = Counter(flow=result["flows"], anomaly=result["anomalies"], status=2)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not want <= collector.counts():
            time.sleep(0.2)
        got = collector.counts()
    finally:
        collector.close()
    # assert: nothing left behind, every event counted at the other end
    assert result["outbox_left"] == 0
    assert result["flows"] == x86["flow"] > 0
    assert got["flow"] == x86["flow"]
    assert got["anomaly"] == result["anomalies"] > 0
    # the same detectors find the same anomalies (one verdict may flip right at the threshold)
    assert abs(result["anomalies"] - x86["anomaly"]) <= max(1, 0.01 * x86["anomaly"])
    assert sum(got.values()) <= result["acked_events"]  # acked rows include any re-sends
    assert got["status"] >= 2  # startup and shutdown at least


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory):
    """A private Mosquitto with the bridge's mTLS + ACL config and the provisioned hub PKI."""
    d = tmp_path_factory.mktemp("arm-tls")
    provision_hub(d / "pki", d / "ca", ["localhost"])
    provision(ProvisionRequest("arm-pi-tls", d / "node", d / "ca"))
    m = d / "pki" / "mosquitto"
    sec = MqttSecurity(
        m / "nodes-ca.crt",
        m / "server.crt",
        m / "server.key",
        d / "data",
        port=TLS_PORT,
        bind="127.0.0.1",
        service_ca_file=m / "ca.crt",
        service_port=TLS_PORT + 1,
        crl_file=m / "crl.pem",
    )
    (d / "acl").write_text(render_acl(sec))
    server = MosquittoServer(port=TLS_PORT - 1, extra_config=listener_fragment(sec, d / "acl"))
    server.start()
    yield d
    server.stop()


def test_agent_on_aarch64_talks_mutual_tls_with_its_provisioned_bundle(arm64, tls_broker, tmp_path):
    # prepare: the node's bundle from `fednids provision`, the bridge's certificate to listen
    pcap = tmp_path / "benign.pcap"
    write_pcap(pcap, simulate(SimConfig(scenario="benign", seed=5, hosts=4, duration=30)).frames)
    pipe = Pipeline("x86")
    flows = sum(e.kind == "flow" for p in open_source(f"pcap:{pcap}") for e in pipe.feed(p))
    flows += sum(e.kind == "flow" for e in pipe.close())
    b = tls_broker / "pki" / "bridge"
    url = f"mqtts://localhost:{TLS_PORT}"
    collector = _Collector(
        f"mqtts://localhost:{TLS_PORT + 1}",  # the service listener
        "arm-pi-tls",
        TransportOptions(
            client_id="arm-tls-collector",
            ca_file=b / "ca.crt",
            cert_file=b / "client.crt",
            key_file=b / "client.key",
            clean_start=True,
        ),
    )
    certs = tls_broker / "node" / "certs"
    try:
        # execute: settings as the Pi gets them (FEDNIDS_AGENT_* from the bundle), paths local
        env = {
            "FEDNIDS_AGENT_NODE_ID": "arm-pi-tls",
            "FEDNIDS_AGENT_MQTT_URL": url,
            "FEDNIDS_AGENT_CA_FILE": str(certs / "ca.crt"),
            "FEDNIDS_AGENT_CERT_FILE": str(certs / "node.crt"),
            "FEDNIDS_AGENT_KEY_FILE": str(certs / "node.key"),
            "FEDNIDS_AGENT_OUTBOX_PATH": str(tmp_path / "outbox.db"),
            "FEDNIDS_AGENT_SOURCE": f"pcap:{pcap}",
        }
        proc = run_arm(["-m", "fednids", "agent", "run"], timeout=600, env=env)
        assert proc.returncode == 0, proc.stderr[-4000:]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and collector.counts()["flow"] < flows:
            time.sleep(0.2)
        got = collector.counts()
    finally:
        collector.close()
    # assert
    assert got["flow"] == flows > 0
    assert got["status"] >= 2
