"""Global weights -> an int8 TFLite model directory the edge detector loads.

The int8 ranges are calibrated on the representative windows the base model ships
(``calibration.npy`` beside its ``model.tflite``, checked against the md5 in its metadata):
the hub never sees a node's data and never runs the simulator. The exported directory ships
the same windows, so it can be the base of the next federation. The threshold is the
federated one: the sample-weighted mean of the nodes' 99.5 % quantiles of held-out benign
reconstruction error. It also ships the float weights (``weights.npz``, listed with its
sha256 in the metadata): the registry inlines them in the signed announcement, so a node can
fine-tune the global model it runs (:mod:`federated.node_finetune`).
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import numpy as np

from federated.errors import CalibrationError


def base_calibration(base_dir: Path, window: int, features: int) -> np.ndarray:
    """The base model's calibration windows, of the shape the exported model takes."""
    from models.errors import ModelError
    from models.export_tflite import read_calibration

    try:
        rep = read_calibration(base_dir)
    except ModelError as exc:
        raise CalibrationError(f"cannot export a federated model: {exc}") from exc
    if rep.shape[1:] != (window, features):
        raise CalibrationError(
            f"{base_dir}: calibration windows are {rep.shape[1:]}, the model takes "
            f"{(window, features)}"
        )
    return rep


def weights_npz(weights: list[np.ndarray]) -> bytes:
    """The float weights as ``weights.npz`` (``arr_0`` ... in ``get_weights`` order)."""
    buf = io.BytesIO()
    np.savez(buf, *[np.asarray(w, dtype=np.float32) for w in weights])
    return buf.getvalue()


def read_weights_npz(data: bytes) -> list[np.ndarray]:
    """The arrays of a ``weights.npz`` in order (no pickles)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return [np.asarray(z[f"arr_{i}"]) for i in range(len(z.files))]


def export_global(
    weights: list[np.ndarray],
    window: int,
    hidden: int,
    lo: np.ndarray,
    hi: np.ndarray,
    threshold: float,
    out: Path,
    base_dir: Path,
    extra: dict[str, Any] | None = None,
) -> Path:
    from models.export_tflite import to_int8_tflite, write_model_dir
    from models.lstm_ae import LstmConfig, build_model, set_weights

    rep = base_calibration(base_dir, window, len(lo))
    model = build_model(LstmConfig(window=window, features=len(lo), hidden=hidden))
    set_weights(model, weights)
    blob = to_int8_tflite(model, rep)
    meta = {
        "window": window,
        "hidden": hidden,
        "threshold": float(threshold),
        "threshold_source": "federated: weighted mean of the nodes' held-out 99.5% quantiles",
        "scaler": {"lo": lo.tolist(), "hi": hi.tolist()},
        "trained": "federated",
        "exported_at": time.time(),
        **(extra or {}),
    }
    from contracts.local_model import WEIGHTS_FILE

    write_model_dir(
        out,
        blob,
        meta,
        rep,
        f"the base model's calibration windows ({base_dir.name})",
        extra_files={WEIGHTS_FILE: weights_npz(weights)},
    )
    return out
