"""Global weights -> an int8 TFLite model directory the edge detector loads.

The int8 ranges are calibrated on windows of the project's own simulated benign traffic
(generated on the hub, cached): the hub never sees a node's data. The threshold is the
federated one: the sample-weighted mean of the nodes' 99.5 % quantiles of held-out benign
reconstruction error.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np


def export_global(
    weights: list[np.ndarray],
    window: int,
    hidden: int,
    lo: np.ndarray,
    hi: np.ndarray,
    threshold: float,
    out: Path,
    cache: Path,
    extra: dict[str, Any] | None = None,
) -> Path:
    from models.calibration import calibration_windows
    from models.export_tflite import to_int8_tflite, write_model_dir
    from models.lstm_ae import LstmConfig, build_model, set_weights

    model = build_model(LstmConfig(window=window, features=len(lo), hidden=hidden))
    set_weights(model, weights)
    rep = calibration_windows(lo, hi, window, cache)
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
    write_model_dir(out, blob, meta)
    return out
