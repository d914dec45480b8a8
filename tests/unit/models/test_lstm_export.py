"""LSTM autoencoder: training (plain and DP), int8 TFLite export, parity, metadata."""

from __future__ import annotations

import hashlib
import json

import numpy as np

from contracts.features import FLOW_FEATURES
from models.lstm_ae import (
    LstmConfig,
    PrivacyConfig,
    build_model,
    get_weights,
    set_weights,
    train_epochs,
)


def test_export_writes_a_checked_model_dir(tiny_model_dir):
    out, meta = tiny_model_dir
    stored = json.loads((out / "metadata.json").read_text())
    blob = (out / "model.tflite").read_bytes()
    assert stored["sha256"] == hashlib.sha256(blob).hexdigest()
    assert stored["features"] == list(FLOW_FEATURES) and stored["window"] == 10
    assert stored["threshold"] > 0 and len(stored["scaler"]["lo"]) == len(FLOW_FEATURES)
    assert stored["training_data_sha256"] == meta["training_data_sha256"]


def test_tflite_follows_torch_on_held_out_benign_windows(tiny_model_dir):
    _, meta = tiny_model_dir
    # the benchmark reports the exact figure; here: the int8 model ranks windows like torch does
    assert meta["tflite_parity_pearson"] > 0.9


def test_training_lowers_the_loss():
    cfg = LstmConfig(epochs=4, hidden=8, batch_size=32)
    windows = np.random.default_rng(1).random((256, 10, len(FLOW_FEATURES)), dtype=np.float32) * 0.1
    res = train_epochs(build_model(cfg), windows, cfg)
    assert res.losses[-1] < res.losses[0]


def test_dp_training_reports_epsilon_and_more_epochs_spend_more():
    windows = np.random.default_rng(2).random((256, 10, len(FLOW_FEATURES)), dtype=np.float32)
    r1 = train_epochs(
        build_model(LstmConfig(epochs=1, hidden=8)),
        windows,
        LstmConfig(epochs=1, hidden=8),
        PrivacyConfig(target_epsilon=3.0),
    )
    assert 0 < r1.epsilon <= 3.05 and r1.noise_multiplier and r1.noise_multiplier > 0
    assert r1.delta == 1e-5


def test_weights_round_trip():
    cfg = LstmConfig(hidden=8)
    a, b = build_model(cfg), build_model(LstmConfig(hidden=8, seed=9))
    set_weights(b, get_weights(a))
    assert all(np.array_equal(x, y) for x, y in zip(get_weights(a), get_weights(b), strict=True))


def test_the_model_dir_ships_its_calibration_windows_checked_by_md5(tiny_model_dir, tmp_path):
    # prepare: the trained dir, and a copy whose calibration file was altered
    import shutil

    import pytest

    from models.errors import ModelError
    from models.export_tflite import CALIBRATION_FILE, REPRESENTATIVE_MAX, read_calibration

    out, meta = tiny_model_dir
    stored = json.loads((out / "metadata.json").read_text())
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    rep = np.load(bad / CALIBRATION_FILE)
    rep[0, 0, 0] += 0.5
    np.save(bad / CALIBRATION_FILE, rep)
    # execute
    windows = read_calibration(out)
    # assert: what the converter used (the first training windows), named with its md5
    assert stored["calibration"]["file"] == CALIBRATION_FILE
    assert windows.shape == (min(REPRESENTATIVE_MAX, meta["train_windows"]), 10, 49)
    assert windows.dtype == np.float32 and windows.min() >= 0.0 and windows.max() <= 1.0
    with pytest.raises(ModelError, match="md5"):
        read_calibration(bad)
    (bad / CALIBRATION_FILE).unlink()
    with pytest.raises(ModelError, match="calibration"):
        read_calibration(bad)


def test_the_shipped_model_ships_the_windows_the_hub_calibrates_on():
    from pathlib import Path

    from models.export_tflite import read_calibration

    shipped = Path(__file__).resolve().parents[3] / "models" / "artifacts" / "lstm-ae"
    meta = json.loads((shipped / "metadata.json").read_text())
    windows = read_calibration(shipped)
    assert windows.shape[1:] == (meta["window"], len(meta["scaler"]["lo"]))
    assert len(windows) >= 100 and "simulator" in meta["calibration"]["source"]


def test_a_federated_export_calibrates_on_the_base_dirs_windows(tiny_model_dir, tmp_path):
    # prepare: the tiny model as the base of a federation; a base without windows
    import pytest

    from federated.errors import CalibrationError
    from federated.export import export_global
    from models.export_tflite import read_calibration

    base, _ = tiny_model_dir
    scaler = json.loads((base / "metadata.json").read_text())["scaler"]
    lo, hi = np.asarray(scaler["lo"]), np.asarray(scaler["hi"])
    weights = get_weights(build_model(LstmConfig(hidden=8)))
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "metadata.json").write_text(json.dumps({"window": 10, "scaler": scaler}))
    # execute
    out = export_global(weights, 10, 8, lo, hi, 0.1, tmp_path / "global", base)
    # assert
    assert np.array_equal(read_calibration(out), read_calibration(base))
    assert json.loads((out / "metadata.json").read_text())["trained"] == "federated"
    with pytest.raises(CalibrationError, match="calibration"):
        export_global(weights, 10, 8, lo, hi, 0.1, tmp_path / "g2", bare)
