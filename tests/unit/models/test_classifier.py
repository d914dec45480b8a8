"""Threat classifier: held-out macro-F1 on separable data, calibrated probabilities, the
'why' per prediction, save/load and refusal of a tampered file."""

from __future__ import annotations

import numpy as np
import pytest

from contracts.features import FLOW_FEATURES
from models.classifier import INPUTS, VOTES, ThreatClassifier
from models.errors import ModelError
from models.training.classifier import train_classifier


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(0)
    fams = ["benign", "dos", "scan"]
    x, v, y = [], [], []
    for k, fam in enumerate(fams):
        base = np.full(len(FLOW_FEATURES), 10.0)
        base[k * 5 : (k + 1) * 5] = 1000.0 if fam != "benign" else 10.0
        x.append(np.abs(rng.normal(base, 2.0, size=(300, len(FLOW_FEATURES)))))
        v.append(np.full((300, len(VOTES)), 0.0 if fam == "benign" else 1.0))
        y += [fam] * 300
    return train_classifier(np.vstack(x), np.vstack(v), y, max_iter=40)


def test_held_out_scores_and_probabilities(trained):
    clf, report = trained
    assert report["heldout_macro_f1"] > 0.95 and report["heldout_rows"] == 270
    fams, conf, _why = clf.predict(
        np.full((1, len(FLOW_FEATURES)), 10.0), np.zeros((1, len(VOTES)))
    )
    assert fams == ["benign"] and 0.5 < conf[0] <= 1.0
    p = clf.probabilities(np.full((2, len(FLOW_FEATURES)), 10.0), np.zeros((2, len(VOTES))))
    assert np.allclose(p.sum(axis=1), 1.0)


def test_why_names_the_features_that_differ(trained):
    clf, _ = trained
    x = np.full((1, len(FLOW_FEATURES)), 10.0)
    x[0, 5:10] = 1000.0  # the "dos" signature
    fams, _conf, why = clf.predict(x, np.ones((1, len(VOTES))))
    assert fams == ["dos"]
    assert {name for name, _v, _c in why[0]} & set(INPUTS[5:10])


def test_save_load_and_tamper_refusal(trained, tmp_path):
    clf, _ = trained
    clf.save(tmp_path / "c")
    again = ThreatClassifier.load(tmp_path / "c")
    x = np.full((3, len(FLOW_FEATURES)), 10.0)
    assert np.allclose(
        again.probabilities(x, np.zeros((3, len(VOTES)))),
        clf.probabilities(x, np.zeros((3, len(VOTES)))),
    )
    blob = (tmp_path / "c" / "model.joblib").read_bytes()
    (tmp_path / "c" / "model.joblib").write_bytes(blob[:-4] + b"xxxx")
    with pytest.raises(ModelError, match="sha256"):
        ThreatClassifier.load(tmp_path / "c")


def test_unknown_family_is_refused():
    with pytest.raises(ModelError, match="unknown families"):
        train_classifier(
            np.zeros((10, len(FLOW_FEATURES))), np.zeros((10, len(VOTES))), ["ufo"] * 10
        )


def test_the_artifact_records_its_vote_columns_and_training_data(trained, tmp_path):
    clf, _ = trained
    clf.meta["training_data"] = [{"kind": "test", "rows": 900}]
    meta = clf.save(tmp_path / "c")
    again = ThreatClassifier.load(tmp_path / "c")
    assert meta["votes"] == list(VOTES) and again.votes == VOTES
    assert again.meta["training_data"] == [{"kind": "test", "rows": 900}]
    assert again.meta["files"]["model.joblib"]["sha256"] == again.meta["sha256"]


def test_another_vote_order_is_refused(trained, tmp_path):
    import json

    clf, _ = trained
    clf.save(tmp_path / "c")
    meta_path = tmp_path / "c" / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["votes"] = list(reversed(VOTES))
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="another input list"):
        ThreatClassifier.load(tmp_path / "c")


def test_load_unpickles_the_verified_bytes_not_the_path(trained, tmp_path, monkeypatch):
    import io

    import models.classifier as mc

    clf, _ = trained
    clf.save(tmp_path / "c")
    real, seen = mc.joblib.load, []

    def spy(src, *a, **k):
        seen.append(src)
        return real(src, *a, **k)

    monkeypatch.setattr(mc.joblib, "load", spy)
    ThreatClassifier.load(tmp_path / "c")
    assert len(seen) == 1 and isinstance(seen[0], io.BytesIO)
