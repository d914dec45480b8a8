"""The evaluation loaders and metrics on small files made here, in the data sets' layouts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.errors import ModelError
from models.eval import tabular


def _nsl_rows(rng: np.random.Generator, n: int, labels: list[str]) -> pd.DataFrame:
    df = pd.DataFrame(
        rng.integers(0, 5, size=(n, len(tabular.NSL_COLUMNS))), columns=tabular.NSL_COLUMNS
    )
    df["protocol_type"] = rng.choice(["tcp", "udp"], n)
    df["service"] = rng.choice(["http", "ftp"], n)
    df["flag"] = rng.choice(["SF", "S0"], n)
    df["label"] = rng.choice(labels, n)
    df["src_bytes"] = np.where(df["label"] == "normal", 100, 9000)  # a signal to learn
    return df


def test_nsl_kdd_official_split_binary_and_five_class(tmp_path):
    # prepare: train without 'mscan' and with service 'http'/'ftp'; tests add unseen values
    rng = np.random.default_rng(0)
    _nsl_rows(rng, 400, ["normal", "neptune", "satan"]).to_csv(
        tmp_path / "KDDTrain+_20Percent.txt", header=False, index=False
    )
    test = _nsl_rows(rng, 200, ["normal", "neptune", "mscan"])
    test.loc[:5, "service"] = "gopher"  # unseen in training -> category -1
    test.to_csv(tmp_path / "KDDTest+.txt", header=False, index=False)
    test[:80].to_csv(tmp_path / "KDDTest-21.txt", header=False, index=False)
    # execute
    binary = tabular.evaluate(tabular.load_nsl_kdd(tmp_path, False), tabular.NSL_CATEGORICAL)
    five = tabular.evaluate(tabular.load_nsl_kdd(tmp_path, True), tabular.NSL_CATEGORICAL)
    # assert
    assert binary["train_rows"] == 400
    assert (
        binary["tests"]["KDDTest+"]["rows"] == 200 and binary["tests"]["KDDTest-21"]["rows"] == 80
    )
    assert binary["tests"]["KDDTest+"]["accuracy"] > 0.95  # src_bytes separates the classes
    assert set(five["tests"]["KDDTest+"]["recall_per_class"]) == {"normal", "DoS", "Probe"}
    assert five["tests"]["KDDTest+"]["confusion"]["labels"] == ["DoS", "Probe", "normal"]


def test_stratified_split_keeps_rare_classes_and_drops_identifiers(tmp_path):
    rng = np.random.default_rng(1)
    cols = {c: rng.integers(0, 9, 300) for c in tabular.CIC_DROP if c != "Attempted Category"}
    for name, n, shift in (("BENIGN", 200, 0), ("Heartbleed", 40, 50)):
        df = pd.DataFrame({k: v[:n] for k, v in cols.items()})
        df["Flow Duration"] = rng.normal(10 + shift, 1, n)
        df["Flow Bytes/s"] = np.inf  # CICFlowMeter writes Infinity; must not crash
        df["Label"] = name
        df["Attempted Category"] = -1
        df.to_csv(tmp_path / f"{name}_{n}.csv", index=False)
    split = tabular.load_cicids2017(tmp_path)
    assert not set(tabular.CIC_DROP) & set(split.x_train.columns)
    res = tabular.evaluate(split)["tests"]["held-out 30%"]
    assert res["support"] == {"BENIGN": 60, "Heartbleed": 12}
    assert res["macro_f1"] == pytest.approx(1.0)


def test_missing_files_are_clear_errors(tmp_path):
    with pytest.raises(ModelError, match="no CIC-IDS2017"):
        tabular.load_cicids2017(tmp_path)
    with pytest.raises(ModelError, match="cannot read"):
        tabular.load_nsl_kdd(tmp_path, False)


def test_novelty_gate_flags_unseen_attacks_at_its_training_operating_point():
    from models.eval.novelty import NormalGate

    # prepare: normal rows around 10, a known attack around 1000, an UNSEEN attack around 1e6
    rng = np.random.default_rng(3)
    normal = pd.DataFrame({"a": rng.normal(10, 1, 2000), "b": rng.normal(5, 1, 2000)})
    known = pd.DataFrame({"a": rng.normal(1000, 50, 300), "b": rng.normal(5, 1, 300)})
    x = pd.concat([normal, known], ignore_index=True).abs()
    is_normal = np.r_[np.ones(2000, bool), np.zeros(300, bool)]
    unseen = pd.DataFrame({"a": np.full(50, 1e6), "b": np.full(50, 5.0)})
    fresh_normal = pd.DataFrame({"a": rng.normal(10, 1, 1000), "b": rng.normal(5, 1, 1000)}).abs()
    # execute
    gate = NormalGate.fit(x, is_normal, quantile=0.99)
    # assert: every unseen attack is flagged, fresh normal rows at about the training rate
    assert gate.flags(unseen).all()
    assert 0.0 <= gate.flags(fresh_normal).mean() < 0.04
    assert gate.threshold(0.95) <= gate.threshold(0.99)


def test_novelty_gate_refuses_bad_settings():
    from models.eval.novelty import NormalGate, gated

    x = pd.DataFrame({"a": np.arange(100.0)})
    with pytest.raises(ModelError, match="quantile"):
        NormalGate.fit(x, np.ones(100, bool), quantile=1.0)
    with pytest.raises(ModelError, match="normal training rows"):
        NormalGate.fit(x, np.zeros(100, bool))
    with pytest.raises(ModelError, match="no 'normal' class"):
        gated(np.array(["dos"]), np.ones((1, 1)), ["dos"], np.array([True]))


def test_gated_evaluation_turns_flagged_normal_calls_into_the_likeliest_attack(tmp_path):
    # prepare: training knows neptune only; the test adds an unseen attack far from normal
    rng = np.random.default_rng(4)
    _nsl_rows(rng, 600, ["normal", "neptune"]).to_csv(
        tmp_path / "KDDTrain+_20Percent.txt", header=False, index=False
    )
    test = _nsl_rows(rng, 300, ["normal", "neptune"])
    novel = test["label"] == "neptune"
    test.loc[novel, "label"] = "mscan"
    test.loc[novel, "src_bytes"] = 100  # looks normal to the classifier's strongest feature...
    test.loc[novel, "dst_bytes"] = 10**9  # ...but lies far from every normal training row
    test.to_csv(tmp_path / "KDDTest+.txt", header=False, index=False)
    test[:100].to_csv(tmp_path / "KDDTest-21.txt", header=False, index=False)
    split = tabular.load_nsl_kdd(tmp_path, False)
    # execute
    res = tabular.evaluate(split, tabular.NSL_CATEGORICAL, novelty_quantile=0.99)
    # assert: the gate catches what the classifier alone misses; its sweep is reported
    t = res["tests"]["KDDTest+"]
    assert t["supervised"]["recall_per_class"]["attack"] < 0.5
    assert t["recall_per_class"]["attack"] > 0.95
    assert set(t["gate_sweep"]) == {str(q) for q in tabular.SWEEP}
    assert res["novelty_gate"]["quantile"] == 0.99
