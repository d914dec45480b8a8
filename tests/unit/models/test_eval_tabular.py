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
