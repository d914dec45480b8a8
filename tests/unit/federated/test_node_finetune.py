"""The node's own fine-tune of global version N (issue 18), end to end on one machine: the
hub's export ships the float weights in the signed announcement, the agent installs v7, runs
the REAL job (``python -m federated.node_finetune``: torch, then TensorFlow, in two child
processes) on its flow store, verifies the node-local model and runs ``lstm-ae-7+node``.
One job (one int8 export, ~20-30 s) for the module."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from contracts import encode
from contracts.events import FlowRecord
from contracts.local_model import INLINE_WEIGHTS_KEY, WEIGHTS_FILE, LocalModelError
from contracts.local_model import verify_local_model as verify
from contracts.model_dir import read_metadata
from contracts.signing import generate_keypair, load_public_keys
from edge_agent.capture import open_source
from edge_agent.detectors.lstm import LstmDetector, load_model
from edge_agent.finetune import FineTuneConfig, FineTuner
from edge_agent.flows.store import FlowStore
from edge_agent.model_update import ModelUpdater
from edge_agent.pipeline import Pipeline
from federated.client_app import EDGE_READERS
from federated.config import RoundConfig
from federated.export import read_weights_npz, weights_npz
from federated.local_data import load_windows
from federated.task import initial_weights
from hub.registry import ModelRegistry, RegistryConfig
from models.export_tflite import write_model_dir as export_model_dir

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ROOT / "models" / "artifacts" / "lstm-ae"
NODE = "node3"
SPEC = "benign?seed=3&hosts=6&duration=240&net=10.3.0"


def flow_store(path: Path, spec: str) -> Path:
    pipe = Pipeline("ft")
    events = [e for p in open_source(f"sim:{spec}") if p is not None for e in pipe.feed(p)]
    store = FlowStore(path)
    store.add([e for e in events + pipe.close() if isinstance(e, FlowRecord)])
    store.close()
    return path


def job(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "federated.node_finetune", *args]
    return subprocess.run(cmd, check=False, cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("finetune")
    store = flow_store(tmp / "flows.db", SPEC)
    # the hub: an export that ships float weights (the shipped int8 model stands in for the
    # int8 export of these weights: the job only fine-tunes the weights), signed as v7
    meta = read_metadata(SHIPPED)
    keep = {k: v for k, v in meta.items() if k not in ("calibration", "sha256", "size_bytes")}
    weights = initial_weights(RoundConfig(window=10, hidden=16), 49)
    export_model_dir(
        tmp / "export",
        (SHIPPED / "model.tflite").read_bytes(),
        keep,
        extra_files={WEIGHTS_FILE: weights_npz(weights)},
    )
    priv, pub = generate_keypair(tmp / "hub-keys")
    registry = ModelRegistry(RegistryConfig(state_dir=tmp / "registry", signing_key=priv))
    ann = registry.build(tmp / "export", floor=6)
    # the node
    detector = LstmDetector.load(SHIPPED, NODE)
    seen: list[str] = []
    tuner = FineTuner(FineTuneConfig(store, tmp / "finetune", NODE, epochs=3, timeout_s=600))
    updater = ModelUpdater(
        tmp / "models",
        load_public_keys([pub]),
        detector,
        on_installed=seen.append,
        fine_tuner=tuner,
        node_id=NODE,
    )
    installed = updater.handle(encode(ann))
    tuner.join(600)
    local = tmp / "finetune" / "models" / "lstm-ae-7"
    return SimpleNamespace(
        tmp=tmp,
        store=store,
        ann=ann,
        weights=weights,
        detector=detector,
        tuner=tuner,
        updater=updater,
        installed=installed,
        seen=seen,
        local=local,
        registry=registry,
    )


def held_out(node: SimpleNamespace) -> tuple[np.ndarray, np.ndarray]:
    scaler = node.ann.metadata["scaler"]
    lo, hi = (np.asarray(scaler[k], dtype=np.float32) for k in ("lo", "hi"))
    return load_windows(f"store:{node.store}", lo, hi, 10, readers=EDGE_READERS)


def test_the_agent_runs_its_own_fine_tune_of_global_v7(node):
    assert INLINE_WEIGHTS_KEY in node.ann.metadata
    assert node.installed == "lstm-ae-7"
    assert node.detector.version == "lstm-ae-7+node", node.updater.drops()
    assert node.seen == ["lstm-ae-7", "lstm-ae-7+node"] and node.updater.drops() == {}
    meta = verify(node.local, node.tuner.public, NODE, 7, node.ann.sha256).metadata
    train, held = held_out(node)  # the client's own split of the same store
    assert meta["scope"] == "node" and meta["base_version"] == 7 and meta["node_id"] == NODE
    assert meta["trained_on"]["train_windows"] == len(train)
    assert meta["trained_on"]["heldout_windows"] == len(held)
    assert meta["trained_on"]["epochs"] == 3
    assert "own training windows" in meta["calibration_source"]  # the installed dir has none
    assert not list(node.local.glob("*.npz"))  # the fine-tuned weights are not kept


def test_its_threshold_is_the_exported_models_own_on_the_nodes_held_out_windows(node):
    _, held = held_out(node)
    model = load_model(node.local, NODE)
    err = np.asarray([model.score_scaled(np.ascontiguousarray(w)) for w in held])
    meta = read_metadata(node.local)
    assert meta["threshold"] == pytest.approx(float(np.quantile(err, 0.995)), rel=1e-9)
    assert node.detector.threshold == pytest.approx(meta["threshold"], rel=1e-9)
    assert node.detector.model.threshold_scope == "node"
    assert meta["heldout_error_mean"] == pytest.approx(float(err.mean()), rel=1e-9)


def test_the_installed_global_dir_carries_the_signed_float_weights(node):
    installed = node.tmp / "models" / "lstm-ae-7"
    got = read_weights_npz((installed / WEIGHTS_FILE).read_bytes())
    assert all(np.array_equal(a, b) for a, b in zip(got, node.weights, strict=True))


def test_a_tampered_copy_of_the_real_fine_tune_is_refused(node, tmp_path):
    copy = tmp_path / "lstm-ae-7"
    shutil.copytree(node.local, copy)
    blob = bytearray((copy / "model.tflite").read_bytes())
    blob[-100] ^= 0x01
    (copy / "model.tflite").write_bytes(bytes(blob))
    with pytest.raises(LocalModelError, match="sha256"):
        verify(copy, node.tuner.public, NODE, 7, node.ann.sha256)


def test_global_v8_replaces_the_fine_tune(node):
    v8 = node.registry.build(node.tmp / "export")
    assert node.updater.handle(encode(v8)) == "lstm-ae-8" == node.detector.version
    node.tuner.cancel()  # its own fine-tune of v8 would follow; not needed here
    node.tuner.join(60)
    assert node.detector.version == "lstm-ae-8"
    # the v7 fine-tune is not v8's: refused
    assert node.updater.install_local(node.updater.running_global, node.local) is False


def test_the_job_refuses_a_global_model_without_float_weights(tmp_path):
    out = job(
        "--base", str(SHIPPED), "--store", str(tmp_path / "none.db"), "--out",
        str(tmp_path / "out"), "--key-dir", str(tmp_path / "key"), "--node-id", NODE,
    )  # fmt: skip
    assert out.returncode == 1 and "ships no float weights" in out.stderr
    assert not (tmp_path / "out").exists()


def test_the_job_refuses_too_few_held_out_windows(node, tmp_path):
    store = flow_store(tmp_path / "small.db", "benign?seed=5&hosts=2&duration=60&net=10.5.0")
    out = job(
        "--base", str(node.tmp / "models" / "lstm-ae-7"), "--store", str(store), "--out",
        str(tmp_path / "out"), "--key-dir", str(tmp_path / "key"), "--node-id", NODE,
    )  # fmt: skip
    assert out.returncode == 1, out.stderr[-1000:]
    assert "need" in out.stderr and not (tmp_path / "out").exists()


def test_the_dependency_check_finds_torch_and_tensorflow_here():
    out = job("--check")
    assert out.returncode == 0, out.stderr
