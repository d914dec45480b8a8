"""Isolation Forest: trained on benign flows, scores attacks higher, refuses a tampered file;
the hub service raises a source seen by several sensors."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from hub.services.iforest_service import IForestService
from models.errors import ModelError
from models.iforest import IForestConfig, IForestModel, train_iforest
from tests.unit.models.conftest import sim_flows


@pytest.fixture(scope="module")
def model():
    benign = sim_flows("sim:benign?seed=31&hosts=12&duration=400")
    return train_iforest(np.asarray([f.features for f in benign]), IForestConfig(n_estimators=50))


def test_attack_flows_score_higher_than_held_out_benign(model):
    benign = sim_flows("sim:benign?seed=32&hosts=12&duration=200")  # another seed: held out
    attack = [
        f
        for f in sim_flows("sim:port_scan_vertical?seed=33&hosts=12&duration=200")
        if f.label != "benign"
    ]
    s = model.score(np.asarray([f.features for f in benign + attack]))
    y = [0] * len(benign) + [1] * len(attack)
    assert roc_auc_score(y, s) > 0.8


def test_save_load_and_refusal_of_a_tampered_file(model, tmp_path):
    model.save(tmp_path / "m")
    again = IForestModel.load(tmp_path / "m")
    x = np.ones((3, len(model.meta["features"])))
    assert np.allclose(again.score(x), model.score(x)) and again.threshold == model.threshold
    blob = (tmp_path / "m" / "model.joblib").read_bytes()
    (tmp_path / "m" / "model.joblib").write_bytes(blob[:-10] + b"0123456789")
    with pytest.raises(ModelError, match="sha256"):
        IForestModel.load(tmp_path / "m")


def test_service_marks_a_source_seen_by_two_sensors_high(model):
    svc = IForestService(model)
    attack = [
        f
        for f in sim_flows("sim:port_scan_vertical?seed=34&hosts=8&duration=200")
        if f.label != "benign"
    ]
    one = svc.handle(attack[:200])
    twin = [f.model_copy(update={"node_id": "other-sensor"}) for f in attack[200:260]]
    both = svc.handle(twin)
    assert one and all(a.detector == "iforest" for a in one)
    assert any(a.severity == "medium" and a.evidence["sensors_seeing_source"] == 2 for a in both)


def test_load_unpickles_the_verified_bytes_not_the_path(model, tmp_path, monkeypatch):
    import io

    import models.iforest as mi

    model.save(tmp_path / "m")
    real, seen = mi.joblib.load, []

    def spy(src, *a, **k):
        seen.append(src)
        return real(src, *a, **k)

    monkeypatch.setattr(mi.joblib, "load", spy)
    IForestModel.load(tmp_path / "m")
    assert len(seen) == 1 and isinstance(seen[0], io.BytesIO)


def test_a_missing_model_file_is_a_clear_error(model, tmp_path):
    model.save(tmp_path / "m")
    (tmp_path / "m" / "model.joblib").unlink()
    with pytest.raises(ModelError, match=r"model\.joblib is missing"):
        IForestModel.load(tmp_path / "m")
