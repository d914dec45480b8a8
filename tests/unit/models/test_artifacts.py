"""The shipped artifacts and the GNN's model directory: found through importlib.resources,
verified by contracts.model_dir, loaded from the bytes that were verified."""

from __future__ import annotations

import io
import json

import pytest
import torch

import models.gnn.model as gm
from contracts.model_dir import read_model_dir
from models.classifier import VOTES, ThreatClassifier
from models.errors import ModelError
from models.gnn.model import FEATURES, Predictor, SageNet, load_predictor
from models.iforest import IForestModel
from models.paths import ARTIFACTS, artifact_dir


def _predictor() -> Predictor:
    torch.manual_seed(0)
    net = SageNet(len(FEATURES), 8, 2)
    meta = {"features": list(FEATURES), "hidden": 8, "layers": 2, "training_data": ["t"]}
    return Predictor(net, meta)


@pytest.mark.parametrize("name", ARTIFACTS)
def test_every_shipped_artifact_verifies(name):
    d = artifact_dir(name)
    primary = {"lstm-ae": "model.tflite", "gnn": "model.pt"}.get(name, "model.joblib")
    got = read_model_dir(d, [primary], primary=primary)
    assert got.blob(primary) == (d / primary).read_bytes()


def test_shipped_hub_models_load_and_describe_their_training_data():
    clf = ThreatClassifier.load(artifact_dir("classifier"))
    assert clf.votes == VOTES and clf.meta["training_data"]
    assert IForestModel.load(artifact_dir("iforest")).meta["training_data"]
    gnn = load_predictor(artifact_dir("gnn"))
    assert gnn.meta["training_data"][0]["generator"] == "models.gnn.propagation_sim"


def test_unknown_artifact_name_is_a_clear_error():
    with pytest.raises(ModelError, match="no shipped artifact"):
        artifact_dir("nope")


def test_gnn_round_trip_and_tamper_refusal(tmp_path):
    pred = _predictor()
    meta = pred.save(tmp_path / "g")
    assert meta["files"]["model.pt"]["sha256"] == meta["sha256"]
    again = load_predictor(tmp_path / "g")
    for a, b in zip(pred.net.state_dict().values(), again.net.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    blob = bytearray((tmp_path / "g" / "model.pt").read_bytes())
    blob[-20] ^= 0xFF
    (tmp_path / "g" / "model.pt").write_bytes(bytes(blob))
    with pytest.raises(ModelError, match="sha256"):
        load_predictor(tmp_path / "g")


def test_gnn_without_hashes_is_refused(tmp_path):
    _predictor().save(tmp_path / "g")
    meta_path = tmp_path / "g" / "metadata.json"
    meta = json.loads(meta_path.read_text())
    del meta["files"], meta["sha256"]
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="no file hashes"):
        load_predictor(tmp_path / "g")


def test_gnn_loads_the_verified_bytes_not_the_path(tmp_path, monkeypatch):
    _predictor().save(tmp_path / "g")
    real, seen = gm.torch.load, []

    def spy(src, *a, **k):
        seen.append(src)
        return real(src, *a, **k)

    monkeypatch.setattr(gm.torch, "load", spy)
    load_predictor(tmp_path / "g")
    assert len(seen) == 1 and isinstance(seen[0], io.BytesIO)
