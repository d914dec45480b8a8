"""The edge's LSTM autoencoder detector: an int8 TFLite model scored with ai-edge-litert.

It keeps each source host's last ``T`` flows, scales them with the model's metadata, and
emits an ``AnomalyEvent`` when the reconstruction error passes the calibrated threshold: the
node's own one when the metadata carries ``thresholds_by_node`` (the 99.5 % quantile of the
global model's error on that node's held-out benign windows, reported by its FL client), else
the fleet's. Sites differ: a federated model fits a small site's traffic less well than a big
one's, and one fleet-wide threshold would keep alarming on the small site's normal traffic.
``swap(model_dir)`` loads and checks a new model completely before replacing the running
one; a corrupt or mismatched file is refused (``ModelLoadError``) and the old model keeps
running. Imports neither torch nor TensorFlow.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from contracts.events import AnomalyEvent, FlowRecord
from contracts.features import FEATURE_VERSION, FLOW_FEATURES
from contracts.model_dir import ModelDirError, read_model_dir
from contracts.scaling import log_features, log_features_into, scale_logged, scale_logged_into
from edge_agent.capture.errors import EdgeAgentError

MAX_HOSTS = 20_000


class ModelLoadError(EdgeAgentError):
    """A model file is corrupt, unsigned where required, or does not match this agent."""


def _interpreter(content: bytes) -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # older installs: tflite-runtime (needs numpy < 2)
        from tflite_runtime.interpreter import Interpreter  # type: ignore[import-not-found,no-redef]
    return Interpreter(model_content=content, num_threads=1)


@dataclass
class LoadedModel:
    version: str
    threshold: float
    threshold_scope: str
    """'node' (this node's own calibration) or 'fleet'"""
    lo: np.ndarray
    hi: np.ndarray
    window: int
    interpreter: Any
    in_index: int
    out_index: int
    in_scale: float
    in_zero: int
    lock: threading.Lock

    span: np.ndarray = field(init=False, repr=False)
    """``hi - lo``, once (the same float32 values ``scale_logged`` computes on every call)."""
    in_range: bool = field(init=False, repr=False)
    """Whether every scaled value (in [0, 1]) quantizes into [-128, 127] without the clip:
    ``x / scale + zero`` and its rounding are monotone, so the ends 0 and 1 bound them all."""

    _consts: tuple[np.ndarray, ...] = field(init=False, repr=False)
    """0, 1, ``in_scale`` and ``in_zero`` as 0-d float32 arrays: what numpy turns the Python
    scalars into on every call (a float32 array beside a Python scalar computes in float32),
    made once."""

    def __post_init__(self) -> None:
        self.span = self.hi - self.lo
        self._consts = tuple(
            np.array(v, dtype=np.float32) for v in (0.0, 1.0, self.in_scale, self.in_zero)
        )
        ends = np.rint(
            np.divide(np.array([0.0, 1.0], dtype=np.float32), self.in_scale) + self.in_zero
        )
        self.in_range = bool(ends[0] >= -128 and ends[1] <= 127)

    def scale_row(self, features: list[float]) -> np.ndarray:
        """One flow's features as the model sees them: log-scaled into [0, 1] (float32).

        ``scale_logged(log_features(features), lo, hi)`` computed in place on one buffer
        (the same ufuncs on the same float32 values; the clip as max then min, which gives
        +0.0 where ``np.clip`` keeps a -0.0: the same int8 and the same error)."""
        x = np.array(features, dtype=np.float32)
        return scale_logged_into(log_features_into(x), self.lo, self.span)

    def quantize(self, x: np.ndarray) -> np.ndarray:
        """``clip(round(x / scale + zero), -128, 127)`` as int8, in place on one buffer."""
        q = np.divide(x, self.in_scale)
        np.add(q, self.in_zero, out=q)
        np.rint(q, out=q)  # np.round with 0 decimals
        np.maximum(q, -128, out=q)
        np.minimum(q, 127, out=q)
        return q.astype(np.int8)

    def scale_into(self, features: list[float], x: np.ndarray, q: np.ndarray) -> None:
        """``x[:] = scale_row(features)`` and ``q[:] = quantize(x)``, written into a window's
        rows (float32 ``x``, int8 ``q``): the same ufuncs on the same values, the rounding cast
        straight into ``q`` (an integral value in range: exact) and, when ``in_range``, no
        clip (it changes nothing there)."""
        zero, one, scale, qzero = self._consts
        x[:] = features  # the float32 of each Python float, as np.array(features, float32)
        scale_logged_into(log_features_into(x, zero), self.lo, self.span, zero, one)
        if not self.in_range:
            q[:] = self.quantize(x)
            return
        t = np.divide(x, scale)
        np.add(t, qzero, out=t)
        np.rint(t, out=q, casting="unsafe")

    def score_quantized(self, x: np.ndarray, q: np.ndarray) -> float:
        """Reconstruction error (MSE) of a window: scaled rows ``x`` and their int8 ``q``."""
        with self.lock:
            self.interpreter.set_tensor(self.in_index, q[None])
            self.interpreter.invoke()
            recon = self.interpreter.get_tensor(self.out_index)[0]
        d = np.subtract(recon, x, out=recon).ravel()  # get_tensor gives a copy: ours to reuse
        return float(d @ d) / d.size

    def score_scaled(self, x: np.ndarray) -> float:
        """Reconstruction error (MSE) of a window of already scaled rows (``scale_row``)."""
        return self.score_quantized(x, self.quantize(x))

    def score(self, window: np.ndarray) -> float:
        x = scale_logged(log_features(window, dtype=None), self.lo, self.hi)
        return self.score_scaled(x.astype(np.float32))


def _threshold(meta: dict[str, Any], node_id: str | None, model_dir: Path) -> tuple[float, str]:
    by_node = meta.get("thresholds_by_node") or {}
    try:
        if node_id is not None and node_id in by_node:
            value, scope = float(by_node[node_id]), "node"
        else:
            value, scope = float(meta["threshold"]), "fleet"
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelLoadError(f"{model_dir}: metadata.json has no usable threshold: {exc}") from exc
    if not np.isfinite(value) or value <= 0:
        raise ModelLoadError(f"{model_dir}: threshold {value!r} is not a positive number")
    return value, scope


def load_model(model_dir: Path, node_id: str | None = None) -> LoadedModel:
    """Read and check ``model.tflite`` + ``metadata.json``; raises :class:`ModelLoadError`.
    ``node_id`` picks the node's own threshold where the metadata has one."""
    try:
        loaded = read_model_dir(model_dir, ["model.tflite"], primary="model.tflite")
    except ModelDirError as exc:
        raise ModelLoadError(f"cannot load the model: {exc}") from exc
    meta, blob = loaded.metadata, loaded.blob("model.tflite")
    if (
        meta.get("features") != list(FLOW_FEATURES)
        or meta.get("feature_version") != FEATURE_VERSION
    ):
        raise ModelLoadError(
            f"{model_dir}: trained on another feature list (version {meta.get('feature_version')})"
        )
    try:
        interp = _interpreter(blob)
        interp.allocate_tensors()
        inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    except (ValueError, RuntimeError) as exc:
        raise ModelLoadError(f"{model_dir}: not a valid TFLite model: {exc}") from exc
    window = int(meta["window"])
    if tuple(inp["shape"]) != (1, window, len(FLOW_FEATURES)) or inp["dtype"] != np.int8:
        raise ModelLoadError(
            f"{model_dir}: input {tuple(inp['shape'])} {inp['dtype']} is not (1, {window}, "
            f"{len(FLOW_FEATURES)}) int8"
        )
    scale, zero = inp["quantization"]
    threshold, scope = _threshold(meta, node_id, model_dir)
    own = "+node" if meta.get("scope") == "node" else ""  # the node's fine-tune of the global
    return LoadedModel(
        version=f"{meta.get('model_name', 'lstm-ae')}-{meta.get('version', 0)}{own}",
        threshold=threshold,
        threshold_scope=scope,
        lo=np.asarray(meta["scaler"]["lo"], dtype=np.float32),
        hi=np.asarray(meta["scaler"]["hi"], dtype=np.float32),
        window=window,
        interpreter=interp,
        in_index=inp["index"],
        out_index=out["index"],
        in_scale=float(scale),
        in_zero=int(zero),
        lock=threading.Lock(),
    )


class LstmDetector:
    """Keeps each source host's last ``window`` flows (scaled once, as the model sees them) and
    scores the window every time one of the host's flows ends. ``score_flow`` returns the
    reconstruction error (the scorer in :mod:`edge_agent.detectors.scorer` combines it with
    the other detectors); ``on_flow`` is the stand-alone detector (an event above threshold)."""

    name = "lstm"

    def __init__(self, model: LoadedModel, node_id: str | None = None) -> None:
        self.model = model
        self.node_id = node_id
        self._hosts: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        """Per source host: its window (scaled rows, int8 rows), or its one row until its
        second flow."""
        self._pad: tuple[np.ndarray, ...] | None = None
        self._hosts_model: LoadedModel = model
        self.scored = 0
        self.last_error = 0.0
        """The reconstruction error of the last flow scored."""

    @classmethod
    def load(cls, model_dir: Path, node_id: str | None = None) -> LstmDetector:
        return cls(load_model(Path(model_dir), node_id), node_id)

    @property
    def version(self) -> str:
        return self.model.version

    @property
    def threshold(self) -> float:
        return self.model.threshold

    def swap(self, model_dir: Path) -> str:
        """Replace the running model with a fully checked new one; the old one stays on error."""
        new = load_model(Path(model_dir), self.node_id)
        self.model = new  # one reference assignment: scoring threads see old or new, never half
        return new.version

    def score_flow(self, flow: FlowRecord) -> float:
        """Add the flow to its source host's window and return the window's error."""
        m = self.model
        if m is not self._hosts_model:  # a new model may scale differently: start windows anew
            self._hosts.clear()
            self._hosts_model = m
        hosts, src = self._hosts, flow.src_ip
        win = hosts.get(src)
        if win is None:  # a host's first flow fills its window (the oldest row pads it)
            x = np.empty(m.lo.size, dtype=np.float32)
            q = np.empty(m.lo.size, dtype=np.int8)
            m.scale_into(flow.features, x, q)
            hosts[src] = (x, q)  # one row kept: most hosts of a spoofed flood send one flow
            if len(hosts) > MAX_HOSTS:
                hosts.popitem(last=False)
            xs, qs = self._padded(m, x, q)
        else:
            hosts.move_to_end(src)
            xs, qs = win
            if xs.ndim == 1:  # the host's second flow: its window is its first row repeated
                xs, qs = np.repeat(xs[None], m.window, 0), np.repeat(qs[None], m.window, 0)
                hosts[src] = (xs, qs)
            xs[:-1] = xs[1:]  # 9 rows moved: as cheap as a ring index, and the window in order
            qs[:-1] = qs[1:]
            m.scale_into(flow.features, xs[-1], qs[-1])  # the new row, in place
        score = m.score_quantized(xs, qs)
        self.scored += 1
        self.last_error = score
        return score

    def _padded(self, m: LoadedModel, x: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, ...]:
        """A one-flow host's window (its row in every place) in a scratch pair of the model's
        shape, reused: a host seen once costs one row, not a window."""
        pad = self._pad
        if pad is None or pad[0].shape != (m.window, x.size):
            pad = self._pad = (
                np.empty((m.window, x.size), dtype=np.float32),
                np.empty((m.window, x.size), dtype=np.int8),
            )
        pad[0][:] = x
        pad[1][:] = q
        return pad

    def on_flow(self, flow: FlowRecord) -> list[AnomalyEvent]:
        m = self.model
        score = self.score_flow(flow)
        if score <= m.threshold:
            return []
        return [
            AnomalyEvent.about_flow(
                flow,
                detector="lstm",
                score=score,
                threshold=m.threshold,
                severity="high" if score > 3 * m.threshold else "medium",
                model_version=m.version,
                evidence={
                    "window": m.window,
                    "reconstruction_error": round(score, 6),
                    "threshold_scope": m.threshold_scope,
                },
            )
        ]

    def on_tick(self, now: float) -> list[AnomalyEvent]:
        return []
