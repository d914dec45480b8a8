"""Export the PyTorch LSTM autoencoder to a full-integer int8 TFLite model (TensorFlow is
needed here only, never on the Pi).

The torch weights go into an equivalent Keras model (gate order i, f, g, o in both; Keras
kernel = W_ih.T, recurrent kernel = W_hh.T, bias = b_ih + b_hh) with ``unroll=True`` and a
fixed batch of 1 (Keras 3's LSTM otherwise becomes a WHILE loop whose int8 conversion
fails). Inputs are int8 (windows are scaled to [0, 1], so the representative set spans the
whole range), the output (the reconstruction) is float32.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from contracts.features import FEATURE_VERSION, FLOW_FEATURES
from models.errors import ModelError
from models.lstm_ae import LstmAutoencoder

MODEL_FILE = "model.tflite"
META_FILE = "metadata.json"


def keras_twin(model: LstmAutoencoder) -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    cfg = model.cfg
    sd = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    inp = tf.keras.Input((cfg.window, cfg.features), batch_size=1, name="window")
    enc = tf.keras.layers.LSTM(cfg.hidden, unroll=True, name="enc")(inp)
    rep = tf.keras.layers.RepeatVector(cfg.window)(enc)
    dec = tf.keras.layers.LSTM(cfg.hidden, return_sequences=True, unroll=True, name="dec")(rep)
    out = tf.keras.layers.Dense(cfg.features, name="out")(dec)
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
    import tensorflow as tf

    km = keras_twin(model)
    rep = np.asarray(representative, dtype=np.float32)
    lo = np.zeros_like(rep[:1])
    hi = np.ones_like(rep[:1])

    def gen() -> Any:
        for w in (lo, hi):  # the extremes fix the input range at exactly [0, 1]
            yield [w]
        for i in range(min(len(rep), 300)):
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


def write_model_dir(out: Path, tflite: bytes, metadata: dict[str, Any]) -> Path:
    """Write ``model.tflite`` and ``metadata.json`` (with the file's sha256) atomically."""
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "model_name": "lstm-ae",
        "features": list(FLOW_FEATURES),
        "feature_version": FEATURE_VERSION,
        "created": time.time(),
        **metadata,
        "sha256": hashlib.sha256(tflite).hexdigest(),
        "size_bytes": len(tflite),
    }
    for name, data in ((MODEL_FILE, tflite), (META_FILE, json.dumps(meta, indent=2).encode())):
        tmp = out / f".{name}.tmp"
        tmp.write_bytes(data)
        tmp.replace(out / name)
    return out
