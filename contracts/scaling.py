"""The one feature transform, shared by training and every detector (numpy only).

A flow's features (``contracts.features.FLOW_FEATURES``) are heavy-tailed counts, bytes and
rates, so every model sees them log-scaled: ``log1p(max(x, 0))``. Models that need a fixed
range (the LSTM autoencoder, whose int8 input must never saturate unpredictably) then map
each feature to [0, 1] with a :class:`Scaler` fitted on benign training flows, clipping
values outside it. Per-host windows for the LSTM are the last ``length`` flows of one
source host in end-time order.

Training (``models``, ``federated``) and the sensor (``edge_agent.detectors``) import this
module; a silent mismatch between the two would degrade detection with no error, so it is
written once and pinned by a golden test (``tests/unit/contracts/test_scaling_golden.py``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, DTypeLike

    from contracts.events import FlowRecord

DEFAULT_QUANTILE = 0.001
"""The scaler's range is the [q, 1 - q] quantiles of the benign training flows."""

MIN_RANGE = 1e-3
"""A feature that is constant in training still gets a range this wide (no division by 0)."""


def log_features(x: ArrayLike, dtype: DTypeLike | None = np.float32) -> np.ndarray:
    """``log1p(max(x, 0))`` elementwise; ``dtype=None`` keeps the input's dtype."""
    a = np.asarray(x) if dtype is None else np.asarray(x, dtype=dtype)
    return np.log1p(np.maximum(a, 0.0))


def scale_logged(x_log: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Log-scaled features mapped to [0, 1] by the range ``lo``..``hi`` (clipped)."""
    return np.clip((x_log - lo) / (hi - lo), 0.0, 1.0)


def log_features_into(x: np.ndarray, zero: Any = 0.0) -> np.ndarray:
    """:func:`log_features` in place on ``x`` (the same ufuncs: the same values to the bit).
    The hot path passes ``zero`` as a 0-d array of ``x``'s dtype, made once (what numpy
    makes of the Python scalar on every call)."""
    np.maximum(x, zero, out=x)
    return np.log1p(x, out=x)


def scale_logged_into(
    x: np.ndarray, lo: np.ndarray, span: np.ndarray, zero: Any = 0.0, one: Any = 1.0
) -> np.ndarray:
    """:func:`scale_logged` in place on log-scaled ``x``, with ``span = hi - lo`` computed
    once; the clip as max then min, which gives +0.0 where ``np.clip`` keeps a -0.0 (equal
    values: the same int8 and the same error downstream)."""
    np.subtract(x, lo, out=x)
    np.divide(x, span, out=x)
    np.maximum(x, zero, out=x)
    return np.minimum(x, one, out=x)


@dataclass(frozen=True)
class Scaler:
    """Per-feature range in log space: ``lo`` and ``hi`` (float32), saved in model metadata."""

    lo: np.ndarray
    hi: np.ndarray

    @classmethod
    def fit(cls, features: np.ndarray, q: float = DEFAULT_QUANTILE) -> Scaler:
        x = log_features(features, dtype=None)
        lo, hi = np.quantile(x, q, axis=0), np.quantile(x, 1 - q, axis=0)
        return cls(lo.astype(np.float32), np.maximum(hi, lo + MIN_RANGE).astype(np.float32))

    @classmethod
    def from_arrays(cls, lo: ArrayLike, hi: ArrayLike) -> Scaler:
        return cls(np.asarray(lo, dtype=np.float32), np.asarray(hi, dtype=np.float32))

    def transform(self, features: ArrayLike) -> np.ndarray:
        """Raw features (any shape ending in the feature axis) -> [0, 1] float32."""
        return scale_logged(log_features(features), self.lo, self.hi).astype(np.float32)

    def to_json(self) -> dict[str, list[float]]:
        return {"lo": self.lo.tolist(), "hi": self.hi.tolist()}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Scaler:
        return cls.from_arrays(d["lo"], d["hi"])


def windows_from_arrays(
    src: Sequence[str], end_ts: np.ndarray, features: np.ndarray, scaler: Scaler, length: int
) -> np.ndarray:
    """Sliding windows (stride 1) of each source host's flows in end-time order: (N, T, F).

    A host with fewer than ``length`` flows gives one window, padded at the front with
    copies of its first flow."""
    feats = np.asarray(features, dtype=np.float32)
    x_all = scaler.transform(feats)
    by_host: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(src):
        by_host[s].append(i)
    out: list[np.ndarray] = []
    for idx in by_host.values():
        idx.sort(key=lambda i: end_ts[i])
        x = x_all[idx]
        if len(x) < length:
            x = np.concatenate([np.repeat(x[:1], length - len(x), axis=0), x])
        out.extend(x[i - length : i] for i in range(length, len(x) + 1))
    if not out:
        return np.zeros((0, length, len(scaler.lo)), dtype=np.float32)
    return np.stack(out).astype(np.float32)


def host_windows(flows: Iterable[FlowRecord], scaler: Scaler, length: int = 10) -> np.ndarray:
    """:func:`windows_from_arrays` over flow records."""
    recs = list(flows)
    if not recs:
        return np.zeros((0, length, len(scaler.lo)), dtype=np.float32)
    return windows_from_arrays(
        [f.src_ip for f in recs],
        np.asarray([float(f.end_ts) for f in recs]),
        np.asarray([f.features for f in recs], dtype=np.float32),
        scaler,
        length,
    )
