"""The node's own fine-tune over a real Mosquitto (issue 18): the hub's registry announces
global v7 (with its float weights) retained; a running agent installs it, runs the real
fine-tune job on its flow store, runs ``lstm-ae-7+node`` and says so in its heartbeats; the
hub's v8 (no float weights) replaces it. A private broker: the model topic is fleet-wide and
retained, so this test never touches the shared one."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest

from contracts.local_model import WEIGHTS_FILE
from contracts.model_dir import read_metadata
from contracts.signing import generate_keypair
from contracts.transports import TransportOptions, open_subscriber
from edge_agent.agent import Agent
from edge_agent.settings import AgentSettings
from federated.config import RoundConfig
from federated.export import weights_npz
from federated.task import initial_weights
from hub.registry import ModelRegistry, RegistryConfig
from models.export_tflite import write_model_dir as export_model_dir
from tests.harness.mosquitto import MosquittoServer
from tests.helpers import wait_until
from tests.integration.helpers import drain_until_offline
from tests.unit.federated.test_node_finetune import SHIPPED, flow_store

pytestmark = pytest.mark.integration
PORT = 21877


@pytest.fixture
def broker():
    server = MosquittoServer(port=PORT)
    server.wipe()
    server.start()
    yield server
    server.stop()


def test_the_agent_runs_its_own_fine_tune_and_global_v8_replaces_it(tmp_path: Path, broker):
    url = broker.url
    node = f"ft{uuid.uuid4().hex[:6]}"
    store = flow_store(tmp_path / "flows.db", "benign?seed=3&hosts=6&duration=240&net=10.3.0")
    meta = read_metadata(SHIPPED)
    keep = {k: v for k, v in meta.items() if k not in ("calibration", "sha256", "size_bytes")}
    export_model_dir(
        tmp_path / "export",
        (SHIPPED / "model.tflite").read_bytes(),
        keep,
        extra_files={WEIGHTS_FILE: weights_npz(initial_weights(RoundConfig(hidden=16), 49))},
    )
    priv, pub = generate_keypair(tmp_path / "keys")
    registry = ModelRegistry(
        RegistryConfig(state_dir=tmp_path / "registry", signing_key=priv, mqtt_url=url)
    )
    status = open_subscriber(
        url,
        [f"fednids/v1/{node}/status"],
        group="",
        options=TransportOptions(client_id=f"c-{node}"),
    )
    status.wait_subscribed(15)  # type: ignore[attr-defined]
    settings = AgentSettings(
        node_id=node,
        source="sim:benign?seed=9&hosts=2&duration=5&net=10.9.0",
        mqtt_url=url,
        outbox_path=tmp_path / "outbox.db",
        model_dir=SHIPPED,
        model_public_keys=[pub],
        models_root=tmp_path / "models",
        flow_store_path=store,
        baseline=False,
        heartbeat_s=0.5,
    )
    agent = Agent(settings)
    stop = threading.Event()
    runner = threading.Thread(
        target=agent.run, args=(stop,), kwargs={"keep_running": True}, daemon=True
    )
    try:
        registry.publish(tmp_path / "export", floor=6)  # v7, retained, before the agent runs
        runner.start()
        assert wait_until(lambda: agent.model_version == "lstm-ae-7+node", 300, every=0.2), (
            "the node's fine-tune"
        )
        time.sleep(2.0)  # heartbeats (every 0.5 s) with it
        registry.publish(SHIPPED)  # v8: no float weights, nothing to fine-tune
        assert wait_until(lambda: agent.model_version == "lstm-ae-8", 60, every=0.2), "global v8"
        time.sleep(1.5)  # a heartbeat or two with v8
    finally:
        stop.set()
        runner.join(60)
        events = drain_until_offline(status, 60)  # every heartbeat, up to the shutdown status
        status.close()
    versions = [e.model_version for e in events if e.kind == "status" and e.online]
    assert "lstm-ae-7+node" in versions and versions[-1] == "lstm-ae-8"
    assert versions.index("lstm-ae-7+node") < versions.index("lstm-ae-8")
    last = [e for e in events if e.kind == "status"][-1]
    assert not {k for k in last.drops if k.startswith(("finetune_", "model_refused_"))}
    assert agent.updater is not None and agent.updater.fine_tuner is not None
    assert agent.updater.fine_tuner.runs == 1
