"""Train the LSTM autoencoder on benign flows, calibrate it on held-out benign windows and
export it as an int8 TFLite model directory (``model.tflite`` + ``metadata.json``)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from contracts.events import FlowRecord
from contracts.scaling import Scaler, host_windows
from models.errors import ModelError
from models.export_tflite import to_int8_tflite, write_model_dir
from models.lstm_ae import (
    LstmConfig,
    PrivacyConfig,
    build_model,
    data_hash,
    reconstruction_errors,
    train_epochs,
)

THRESHOLD_QUANTILE = 0.995


def tflite_errors(tflite: bytes, windows: np.ndarray) -> np.ndarray:
    """Reconstruction errors of the exported model, as the edge computes them."""
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=tflite, num_threads=1)
    it.allocate_tensors()
    i0, o0 = it.get_input_details()[0], it.get_output_details()[0]
    scale, zero = i0["quantization"]
    out = np.empty(len(windows), dtype=np.float32)
    for k, w in enumerate(windows):
        it.set_tensor(
            i0["index"], np.clip(np.round(w / scale + zero), -128, 127).astype(np.int8)[None]
        )
        it.invoke()
        out[k] = np.mean((it.get_tensor(o0["index"])[0] - w) ** 2)
    return out


def train_and_export(
    benign: list[FlowRecord],
    out: Path,
    cfg: LstmConfig | None = None,
    privacy: PrivacyConfig | None = None,
    version: int = 1,
    progress: bool = False,
) -> dict[str, Any]:
    cfg = cfg or LstmConfig()
    if len(benign) < 50:
        raise ModelError(f"need at least 50 benign flows, got {len(benign)}")
    scaler = Scaler.fit(np.asarray([f.features for f in benign]))
    windows = host_windows(benign, scaler, cfg.window)
    rng = np.random.default_rng(cfg.seed)
    idx = rng.permutation(len(windows))
    cut = int(len(windows) * 0.8)
    train, held = windows[idx[:cut]], windows[idx[cut:]]
    model = build_model(cfg)
    result = train_epochs(model, train, cfg, privacy, progress=progress)
    held_err = reconstruction_errors(model, held)
    threshold = float(np.quantile(held_err, THRESHOLD_QUANTILE))
    blob = to_int8_tflite(model, train)
    lite_err = tflite_errors(blob, held[:500])
    parity = (
        float(np.corrcoef(held_err[:500], lite_err)[0, 1]) if len(lite_err) > 2 else float("nan")
    )
    meta = {
        "version": version,
        "window": cfg.window,
        "hidden": cfg.hidden,
        "threshold": threshold,
        "threshold_quantile": THRESHOLD_QUANTILE,
        "scaler": scaler.to_json(),
        "training_data_sha256": data_hash(train),
        "train_windows": len(train),
        "heldout_windows": len(held),
        "epochs": cfg.epochs,
        "loss": result.losses[-1],
        "epsilon": None if privacy is None else result.epsilon,
        "delta": result.delta,
        "noise_multiplier": result.noise_multiplier,
        "tflite_parity_pearson": parity,
        "config": asdict(cfg),
    }
    write_model_dir(out, blob, meta, train, "this model's own training windows (its first ones)")
    return meta | {"model_bytes": len(blob)}
