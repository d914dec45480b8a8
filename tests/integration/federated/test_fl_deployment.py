"""A real federation on loopback: ``flower-superlink`` + 3 ``flower-supernode`` processes with
TLS and registered SuperNode keys, ``flwr run`` of the fednids app for 3 rounds with DP-SGD,
FL events on the real Kafka, the global model signed and announced on the real Mosquitto to
three real agent processes (and a late one), a tampered announcement refused, and a
SuperNode killed mid-run that does not stop the run."""

from __future__ import annotations

import base64
import itertools
import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from contracts import decode, encode
from contracts.events import FLEvent, ModelAnnouncement, NodeStatus
from contracts.signing import generate_keypair
from contracts.topics import MQTT_MODEL_TOPIC, mqtt_subscription
from contracts.transports import TransportOptions, open_publisher, open_subscriber
from federated.privacy import rdp_epsilon
from tests.harness.flower import FlowerDeployment

pytestmark = pytest.mark.integration
SHIPPED = Path(__file__).resolve().parents[3] / "models" / "artifacts" / "lstm-ae"


class StatusWatch:
    """The latest heartbeat of each node, from the real Mosquitto."""

    def __init__(self, url: str) -> None:
        self.latest: dict[str, NodeStatus] = {}
        self.sub = open_subscriber(
            url,
            [mqtt_subscription("status")],
            group="",
            options=TransportOptions(
                client_id=f"watch-{uuid.uuid4().hex[:6]}", clean_start=True, session_expiry_s=60
            ),
        )
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            msgs = self.sub.poll(0.5)
            for m in msgs:
                try:
                    ev = decode(m.value)
                except Exception:
                    continue
                if isinstance(ev, NodeStatus):
                    self.latest[ev.node_id] = ev
            if msgs:
                self.sub.ack(msgs)

    def wait(self, cond, timeout: float = 60) -> bool:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cond(self.latest):
                return True
            time.sleep(0.3)
        return False

    def close(self) -> None:
        self._stop.set()
        self._t.join(5)
        self.sub.close()


def _agent(tmp: Path, node: str, mqtt: str, pub: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable, "-m", "fednids", "agent", "run",
            "--node-id", node, "--mqtt", mqtt,
            "--source", "sim:benign?seed=3&hosts=3&duration=5",
            "--outbox", str(tmp / f"{node}.db"),
            "--model-dir", str(SHIPPED), "--model-key", str(pub),
            "--models-root", str(tmp / f"{node}-models"),
            "--heartbeat", "1", "--keep-running",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp / f"{node}.log").open("wb"),
    )  # fmt: skip


def _fl_events(
    kafka_url: str, run_tag: str, nodes: list[str], rounds: int, timeout: float = 90
) -> list[FLEvent]:
    """This run's FL events (node ids start with its tag), read until every round's server
    event, each node's client events and the model announcement are in: they are keyed by
    node, so they come from different partitions in no particular order."""
    sub = open_subscriber(kafka_url, ["fl_events"], group=f"fl-test-{uuid.uuid4().hex[:6]}")
    events: list[FLEvent] = []
    deadline = time.monotonic() + timeout

    def complete() -> bool:
        server = {e.round for e in events if e.role == "server" and e.phase == "aggregate"}
        return (
            server >= set(range(1, rounds + 1))
            and any(e.phase == "model_published" for e in events)
            and all(
                sum(e.node_id == n and e.role == "client" for e in events) >= rounds for n in nodes
            )
        )

    try:
        while time.monotonic() < deadline and not complete():
            for m in sub.poll(0.5):
                ev = decode(m.value)
                if isinstance(ev, FLEvent) and ev.node_id.startswith(run_tag):
                    events.append(ev)
    finally:
        sub.close()
    return events


def test_federation_with_dp_tls_auth_and_signed_distribution(
    tmp_path, kafka_server, mosquitto_server
):
    # prepare: signing keys, three agents running the shipped model, a SuperLink and 3 SuperNodes
    tag = f"s{uuid.uuid4().hex[:4]}"
    nodes = [f"{tag}-n{i}" for i in range(1, 4)]
    priv, pub = generate_keypair(tmp_path / "keys")
    watch = StatusWatch(mosquitto_server.url)
    agents = [_agent(tmp_path, n, mosquitto_server.url, pub) for n in nodes]
    dep = FlowerDeployment(tmp_path / "flower", port=19400)
    late = None
    try:
        assert watch.wait(
            lambda s: all(n in s and s[n].model_version == "lstm-ae-1" for n in nodes)
        )
        dep.start_superlink()
        for i, n in enumerate(nodes):
            dep.start_supernode(
                n, f"sim:benign?seed={20 + i}&hosts=6&duration=50&net=10.{20 + i}.0"
            )
        # a SuperNode whose key was never registered must not join
        dep.start_supernode(f"{tag}-intruder", "sim:benign?seed=9", register=False)
        summary_path = tmp_path / "summary.json"
        run_config = {
            "num-rounds": 3,
            "min-nodes": 2,
            "round-timeout": 60.0,
            "target-epsilon": 3.0,
            "events-url": kafka_server.url,
            "registry-dir": str(tmp_path / "registry"),
            "signing-key": str(priv),
            "mqtt-url": mosquitto_server.url,
            "summary-path": str(summary_path),
            "server-node": f"{tag}-hub",
        }
        # a SuperNode is killed as soon as round 2's training reaches it
        killed = threading.Event()

        def killer() -> None:
            deadline = time.monotonic() + 400
            while time.monotonic() < deadline:
                if dep.log(nodes[2]).count("Receiving: train message") >= 2:
                    dep.kill(nodes[2])
                    killed.set()
                    return
                time.sleep(0.2)

        threading.Thread(target=killer, daemon=True).start()

        # execute
        dep.run(run_config, timeout=600)

        # assert: the run finished all rounds despite the killed node
        assert killed.is_set(), "the test never killed a node"
        summary = json.loads(summary_path.read_text())
        assert summary["rounds"] == 3
        assert len(summary["published"]) == 1 and summary["published"][0] >= 2  # shipped is 1
        events = _fl_events(kafka_server.url, tag, nodes[:2], 3)
        server = {e.round: e for e in events if e.role == "server" and e.phase == "aggregate"}
        assert sorted(server) == [1, 2, 3]
        assert server[1].participants == 3  # not 4: the unregistered node never joined
        assert not any(e.node_id == f"{tag}-intruder" for e in events)
        assert "Receiving: train message" not in dep.log(f"{tag}-intruder")
        assert server[3].participants == 2  # the killed node is gone
        # epsilon rises monotonically per node and equals a fresh accountant on its history
        for n in nodes[:2]:
            eps = [
                e.epsilon
                for e in sorted(events, key=lambda e: e.round)
                if e.node_id == n and e.role == "client"
            ]
            assert len(eps) == 3 and all(b > a for a, b in itertools.pairwise(eps)), eps
            assert eps[-1] <= 3.0 + 1e-6
            state = json.loads((tmp_path / "flower" / "nodes" / n / "privacy.json").read_text())
            assert rdp_epsilon([tuple(h) for h in state["history"]], 1e-5) == pytest.approx(eps[-1])
        # the signed model reaches every agent, which hot-swaps it and reports it
        version = f"lstm-ae-{summary['published'][-1]}"
        # (a loaded machine: the three agents and three SuperNodes share two cores)
        assert watch.wait(
            lambda s: all(s[n].model_version == version for n in nodes), timeout=180
        ), _diagnose(watch, tmp_path, nodes, mosquitto_server.url)
        # a node that was offline catches up from the retained announcement
        late = _agent(tmp_path, f"{tag}-late", mosquitto_server.url, pub)
        assert watch.wait(
            lambda s: s.get(f"{tag}-late") is not None and s[f"{tag}-late"].model_version == version
        )

        # a tampered announcement (payload changed, signature kept) is refused by every agent
        retained = _retained(mosquitto_server.url)
        # each node that evaluated the published model has its own signed threshold
        own = summary["thresholds_by_node"]
        assert set(own) == set(nodes[:2]) and all(v > 0 for v in own.values()), own
        assert retained.metadata["thresholds_by_node"] == pytest.approx(own)
        blob = bytearray(base64.b64decode(retained.payload_b64 or ""))
        blob[len(blob) // 2] ^= 0xFF
        forged = retained.model_copy(
            update={
                "version": retained.version + 1,
                "payload_b64": base64.b64encode(bytes(blob)).decode(),
            }
        )
        _announce(mosquitto_server.url, forged)
        assert watch.wait(
            lambda s: all(s[n].drops.get("model_refused_signature", 0) >= 1 for n in nodes[:2])
        )
        assert all(watch.latest[n].model_version == version for n in nodes)
    finally:
        dep.stop()
        for a in [*agents, late]:
            if a is not None:
                a.terminate()
                a.wait(20)
        watch.close()
        _clear_retained(mosquitto_server.url)


def _diagnose(watch: StatusWatch, tmp: Path, nodes: list[str], url: str) -> str:
    """What each agent last reported, its log lines about models, and what the retained
    announcement is (a failure says which hop lost the model)."""
    lines = []
    for n in nodes:
        st = watch.latest.get(n)
        log = (tmp / f"{n}.log").read_text(errors="replace").splitlines()
        about = [x for x in log if "model" in x.lower() or "error" in x.lower()][-8:]
        lines.append(f"{n}: {st.model_version if st else None} drops={st.drops if st else None}")
        lines += [f"    {x[:300]}" for x in about]
    try:
        ann = _retained(url)
        lines.append(f"retained: {ann.model_name} v{ann.version}")
    except AssertionError as exc:
        lines.append(f"retained: {exc}")
    return "\n".join(lines)


def _retained(url: str) -> ModelAnnouncement:
    sub = open_subscriber(
        url,
        [MQTT_MODEL_TOPIC],
        group="",
        options=TransportOptions(
            client_id=f"r-{uuid.uuid4().hex[:6]}", clean_start=True, session_expiry_s=0
        ),
    )
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            for m in sub.poll(0.5):
                ev = decode(m.value)
                if isinstance(ev, ModelAnnouncement):
                    return ev
    finally:
        sub.close()
    raise AssertionError("no retained model announcement")


def _announce(url: str, ann: ModelAnnouncement) -> None:
    pub = open_publisher(url, TransportOptions(client_id=f"forger-{uuid.uuid4().hex[:6]}"))
    pub.publish(MQTT_MODEL_TOPIC, encode(ann), retain=True)
    assert pub.flush(10) == 0
    pub.close()


def _clear_retained(url: str) -> None:
    pub = open_publisher(url, TransportOptions(client_id=f"clear-{uuid.uuid4().hex[:6]}"))
    pub.publish(MQTT_MODEL_TOPIC, b"", retain=True)
    pub.flush(10)
    pub.close()
