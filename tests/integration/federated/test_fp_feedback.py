"""A false positive marked on the hub raises the node's threshold in the next signed model.

The whole path on the real store (SQLite, and the harness' PostgreSQL): the agent's own
detector raises LSTM anomalies on benign simulator traffic, the hub stores them and an
incident naming them, an operator marks the incident false positive through the real API
route, the ServerApp's publish step (export, feedback, sign) makes the next version, the
agent's updater verifies and installs it, and the same flows no longer alarm. Also: the
feedback lasts as long as the suppression (deleted, expired or reopened: withdrawn)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import torch._dynamo  # noqa: F401 - see below

# This module exports a model in the test process, which loads TensorFlow. TensorFlow's LLVM
# and Triton's (which torch's optimisers import lazily, through torch._dynamo) abort the
# process when Triton loads second ("LLVM ERROR: inconsistency in registered CommandLine
# options"): loading torch's compiler stack here, at collection, keeps every later test of
# the session that trains with torch alive.
from fastapi.testclient import TestClient
from flwr.app import ArrayRecord

from contracts.events import AlertEvent, AnomalyEvent
from contracts.signing import generate_keypair, load_public_keys
from edge_agent.detectors.lstm import LstmDetector
from edge_agent.model_update import ModelUpdater
from federated.events import FLEventSink
from federated.export import export_global
from federated.server_app import FLRunSummary, _publish, _registry
from federated.settings import FLServerSettings
from federated.strategy import FedNidsAvg
from federated.task import initial_weights
from hub.api.app import create_app
from hub.settings import HubSettings
from hub.storage.fp_feedback import false_positive_anomalies
from hub.storage.tokens import create_token
from tests.unit.models.conftest import sim_flows

NODE = "pi-1"
RATIO = 1.3
"""The running model's threshold for the node sits this far below the worst benign window."""


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    """The model the fleet runs (an int8 export of the federation's seeded weights) and the
    benign flows of one node."""
    s = FLServerSettings()
    meta = json.loads((s.base_model_dir / "metadata.json").read_text())
    lo = np.asarray(meta["scaler"]["lo"], dtype=np.float32)
    hi = np.asarray(meta["scaler"]["hi"], dtype=np.float32)
    window = int(meta["window"])
    weights = initial_weights(s.round_config(window, lo.tolist(), hi.tolist()), len(lo))
    out = tmp_path_factory.mktemp("running") / "model"
    export_global(weights, window, s.hidden, lo, hi, 0.9, out, s.base_model_dir)
    flows = [f.model_copy(update={"node_id": NODE}) for f in sim_flows(
        "sim:benign?seed=31&hosts=4&duration=120"
    )]  # fmt: skip
    return {"dir": out, "weights": weights, "lo": lo, "hi": hi, "window": window, "flows": flows}


def _replay(det: LstmDetector, flows: list) -> list[AnomalyEvent]:
    return [ev for f in flows for ev in det.on_flow(f)]


def _later(days: float = 7) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def _incident(key: str, alarms: list[AnomalyEvent], detector: str = "lstm") -> AlertEvent:
    return AlertEvent(
        node_id="hub", incident_key=key, severity="medium", title="LSTM anomaly",
        count=len(alarms), related_ids=[a.event_id for a in alarms][:64], nodes=[NODE],
        detectors=[detector], attackers=sorted({a.src_ip for a in alarms if a.src_ip})[:1],
    )  # fmt: skip


def test_a_marked_false_positive_stops_the_same_windows_alarming(store, running, tmp_path):
    # prepare: the agent's detector on the running model, its node threshold RATIO below the
    # worst benign window: the node's benign traffic alarms
    probe = LstmDetector.load(running["dir"], NODE)
    worst = max(probe.score_flow(f) for f in running["flows"])
    computed = worst / RATIO
    model = dataclasses.replace(
        probe.model, threshold=computed, threshold_scope="node", version="lstm-ae-1"
    )
    agent = LstmDetector(model, NODE)
    alarms = _replay(agent, running["flows"])
    assert alarms and max(a.score for a in alarms) == pytest.approx(worst)
    noise = AnomalyEvent(node_id=NODE, detector="rules", score=1e9, threshold=1.0)
    store.insert_events([*alarms, noise])
    chunks = [alarms[i : i + 64] for i in range(0, len(alarms), 64)]
    keys = [f"lstm:{NODE}:{i}" for i in range(len(chunks))]
    store.insert_events([_incident(k, c) for k, c in zip(keys, chunks, strict=True)])
    store.insert_events([_incident("rules:noise", [noise], "rules")])
    op = create_token(store, "alice", "operator")
    with TestClient(create_app(HubSettings(), store)) as client:
        for key in [*keys, "rules:noise"]:
            res = client.post(
                f"/api/alerts/{key}/false-positive",
                json={"expires_at": _later(), "reason": "backup job"},
                headers={"Authorization": f"Bearer {op}"},
            )
            assert res.status_code == 200, res.text
    priv, pub = generate_keypair(tmp_path / "keys")
    s = FLServerSettings.model_validate(
        {"registry-dir": str(tmp_path / "registry"), "signing-key": str(priv),
         "feedback-db": store.url}
    )  # fmt: skip
    sink = FLEventSink(None)
    strategy = FedNidsAvg(sink, defences=s.defences())
    strategy.threshold, strategy.thresholds_by_node = computed, {NODE: computed, "pi-2": 0.05}
    summary = FLRunSummary()
    updater = ModelUpdater(tmp_path / "agent-models", load_public_keys([pub]), agent)
    # execute: the ServerApp's publish step, then the agent installs what it signed
    registry = _registry(s)
    _publish(
        registry, ArrayRecord(running["weights"]), 5, running["window"], running["lo"],
        running["hi"], strategy, s, sink, summary, base_version=1,
    )  # fmt: skip
    ann = json.loads((registry.version_dir(2) / "announcement.json").read_text())
    installed = updater.handle((registry.version_dir(2) / "announcement.json").read_bytes())
    after = _replay(agent, running["flows"])
    # assert: signed, installed, the node's threshold above the marked windows: no alarm
    by_node = ann["metadata"]["thresholds_by_node"]
    assert installed == "lstm-ae-2" and agent.model.threshold_scope == "node"
    assert by_node[NODE] == pytest.approx(computed * RATIO * 1.1, rel=1e-3)
    assert by_node[NODE] > worst and agent.threshold == by_node[NODE]
    assert after == [] and max(agent.score_flow(f) for f in running["flows"]) < by_node[NODE]
    assert by_node["pi-2"] == 0.05 and ann["metadata"]["threshold"] == computed
    fb = ann["metadata"]["fp_feedback"]
    assert fb["nodes"][NODE]["fps"] == len(alarms) and not fb["nodes"][NODE]["capped"]
    assert fb["ignored"] == {"detector": 1} and fb["incidents"] == len(keys) + 1
    # reported: the run's summary and the FL events (server and node)
    assert summary.fp_feedback[0]["nodes"][NODE]["threshold"] == by_node[NODE]
    server_ev = next(e for e in sink.sent if e.node_id == "hub")
    node_ev = next(e for e in sink.sent if e.node_id == NODE)
    assert server_ev.metrics["fp_applied"] == len(alarms) == node_ev.metrics["fp_applied"]
    assert node_ev.metrics["threshold"] == by_node[NODE]


def test_the_feedback_lasts_as_long_as_the_suppression(store):
    # prepare: three marked incidents of one LSTM detection each
    evs = [AnomalyEvent(node_id=NODE, detector="lstm", score=0.3, threshold=0.2) for _ in "abc"]
    store.insert_events(evs)
    store.insert_events([_incident(k, [e]) for k, e in zip("abc", evs, strict=True)])
    sids = {}
    for key in "abc":
        sids[key] = store.create_suppression(
            _match(), "benign", "alice (operator)", datetime.now(UTC).timestamp() + 3600, key
        )["id"]
        store.mark_incident(key, sids[key], "alice (operator)", resolve_as="false_positive")
    before = false_positive_anomalies(store.engine)
    # execute: a deleted, an expired suppression, a reopened incident
    store.end_suppression(sids["a"], "deleted", "bob (operator)")
    store.end_suppression(sids["b"], "expired", "bob (operator)")
    store.set_alert_state("c", "open", "bob (operator)")
    after = false_positive_anomalies(store.engine)
    # assert
    assert sorted(m.event_id for m in before.marks) == sorted(str(e.event_id) for e in evs)
    assert before.incidents == 3 and before.marks[0].detector == "lstm"
    assert after.marks == [] and after.incidents == 0


def _match():  # type: ignore[no-untyped-def]
    from hub.services.suppressions import SuppressionMatch

    return SuppressionMatch(node_id=NODE)
