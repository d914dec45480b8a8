"""Export the PyTorch LSTM autoencoder to a full-integer int8 TFLite model (TensorFlow is
needed here only, never on the Pi).

The torch weights go into an equivalent Keras model (gate order i, f, g, o in both; Keras
kernel = W_ih.T, recurrent kernel = W_hh.T, bias = b_ih + b_hh) with ``unroll=True`` and a
fixed batch of 1 (Keras 3's LSTM otherwise becomes a WHILE loop whose int8 conversion
fails). Inputs are int8 (windows are scaled to [0, 1], so the representative set spans the
whole range), the output (the reconstruction) is float32.

A model directory ships the representative windows its int8 ranges were calibrated on
(``calibration.npy``, named in the metadata with its md5): the hub's export of a federated
model calibrates on the base model's windows (:func:`read_calibration`) and never needs a
node's data or the simulator.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from contracts.features import FEATURE_VERSION, FLOW_FEATURES
from models.errors import ModelError

if TYPE_CHECKING:  # torch is not needed to convert a state dict (the node's export child)
    from models.lstm_ae import LstmAutoencoder

MODEL_FILE = "model.tflite"
META_FILE = "metadata.json"
CALIBRATION_FILE = "calibration.npy"
REPRESENTATIVE_MAX = 300
"""The converter sees at most this many representative windows (plus the [0, 1] extremes)."""


def keras_twin(model: LstmAutoencoder) -> Any:
    cfg = model.cfg
    sd = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    return keras_from_state(sd, cfg.window, cfg.features, cfg.hidden)


def keras_from_state(sd: Mapping[str, np.ndarray], window: int, features: int, hidden: int) -> Any:
    """The Keras twin of the autoencoder whose torch ``state_dict`` (as numpy) is ``sd``."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    inp = tf.keras.Input((window, features), batch_size=1, name="window")
    enc = tf.keras.layers.LSTM(hidden, unroll=True, name="enc")(inp)
    rep = tf.keras.layers.RepeatVector(window)(enc)
    dec = tf.keras.layers.LSTM(hidden, return_sequences=True, unroll=True, name="dec")(rep)
    out = tf.keras.layers.Dense(features, name="out")(dec)
    km = tf.keras.Model(inp, out)
    for name in ("enc", "dec"):
        km.get_layer(name).set_weights(
            [
                sd[f"{name}.l0.ih.weight"].T,
                sd[f"{name}.l0.hh.weight"].T,
                sd[f"{name}.l0.ih.bias"] + sd[f"{name}.l0.hh.bias"],
            ]
        )
    km.get_layer("out").set_weights([sd["out.weight"].T, sd["out.bias"]])
    return km


def to_int8_tflite(model: LstmAutoencoder, representative: np.ndarray) -> bytes:
    return keras_to_int8(keras_twin(model), representative)


def state_to_int8_tflite(
    sd: Mapping[str, np.ndarray],
    window: int,
    features: int,
    hidden: int,
    representative: np.ndarray,
) -> bytes:
    """:func:`to_int8_tflite` of a numpy ``state_dict``, without torch in the process."""
    return keras_to_int8(keras_from_state(sd, window, features, hidden), representative)


def keras_to_int8(km: Any, representative: np.ndarray) -> bytes:
    import tensorflow as tf

    rep = np.asarray(representative, dtype=np.float32)
    lo = np.zeros_like(rep[:1])
    hi = np.ones_like(rep[:1])

    def gen() -> Any:
        for w in (lo, hi):  # the extremes fix the input range at exactly [0, 1]
            yield [w]
        for i in range(min(len(rep), REPRESENTATIVE_MAX)):
            yield [rep[i : i + 1]]

    conv = tf.lite.TFLiteConverter.from_keras_model(km)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = gen
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.float32
    try:
        return bytes(conv.convert())
    except Exception as exc:  # the converter raises a zoo of types
        raise ModelError(f"int8 TFLite conversion failed: {exc}") from exc


def calibration_bytes(representative: np.ndarray) -> bytes:
    """The ``.npy`` of what the converter used: the first :data:`REPRESENTATIVE_MAX` windows."""
    buf = io.BytesIO()
    np.save(buf, np.asarray(representative[:REPRESENTATIVE_MAX], dtype=np.float32))
    return buf.getvalue()


def calibration_entry(npy: bytes, source: str) -> dict[str, Any]:
    """The metadata's ``calibration`` field for a ``calibration.npy`` of these bytes."""
    return {
        "file": CALIBRATION_FILE,
        "md5": hashlib.md5(npy, usedforsecurity=False).hexdigest(),
        "source": source,
    }


def write_model_dir(
    out: Path,
    tflite: bytes,
    metadata: dict[str, Any],
    calibration: np.ndarray | None = None,
    calibration_source: str = "",
    extra_files: dict[str, bytes] | None = None,
) -> Path:
    """Write ``model.tflite``, ``metadata.json`` (with the file's sha256) and, when given, the
    representative windows (``calibration.npy``, its md5 in the metadata), atomically each.
    ``extra_files`` (e.g. the float ``weights.npz``) are written too, and then the metadata
    lists every file's sha256 under ``files`` (:mod:`contracts.model_dir`)."""
    out.mkdir(parents=True, exist_ok=True)
    files: list[tuple[str, bytes]] = [(MODEL_FILE, tflite)]
    extra: dict[str, Any] = {}
    if calibration is not None:
        npy = calibration_bytes(calibration)
        files.append((CALIBRATION_FILE, npy))
        extra["calibration"] = calibration_entry(npy, calibration_source)
    if extra_files:
        files.extend(sorted(extra_files.items()))
        extra["files"] = {
            name: {"sha256": hashlib.sha256(data).hexdigest(), "size_bytes": len(data)}
            for name, data in files
        }
    meta = {
        "model_name": "lstm-ae",
        "features": list(FLOW_FEATURES),
        "feature_version": FEATURE_VERSION,
        "created": time.time(),
        **metadata,
        **extra,
        "sha256": hashlib.sha256(tflite).hexdigest(),
        "size_bytes": len(tflite),
    }
    files.append((META_FILE, json.dumps(meta, indent=2).encode()))
    for name, data in files:
        tmp = out / f".{name}.tmp"
        tmp.write_bytes(data)
        tmp.replace(out / name)
    return out


def read_calibration(model_dir: Path) -> np.ndarray:
    """The representative windows a model directory ships, checked against the md5 in its
    metadata (loaded from the bytes that were checked)."""
    try:
        meta = json.loads((model_dir / META_FILE).read_text())
        entry = meta["calibration"]
        npy = (model_dir / str(entry["file"])).read_bytes()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{model_dir}: no int8 calibration windows ({exc})") from exc
    if hashlib.md5(npy, usedforsecurity=False).hexdigest() != entry.get("md5"):
        raise ModelError(f"{model_dir}: {entry['file']} does not match its md5 in the metadata")
    try:
        windows = np.load(io.BytesIO(npy), allow_pickle=False)
    except ValueError as exc:
        raise ModelError(f"{model_dir}: {entry['file']} is not a .npy: {exc}") from exc
    if windows.ndim != 3 or windows.dtype != np.float32 or not np.isfinite(windows).all():
        raise ModelError(f"{model_dir}: calibration windows must be finite float32 (N, T, F)")
    return np.asarray(windows)
