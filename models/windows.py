"""Flow records -> scaled per-host windows for the LSTM autoencoder (numpy only).

A window is the last ``T`` flows of one source host, each flow's features log-scaled and
mapped to [0, 1] with ranges fitted on benign training flows (values outside are clipped,
so int8 inputs never saturate unpredictably). The edge detector and training share this code
through the metadata (``lo``, ``hi``), not through imports of torch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from contracts.events import FlowRecord


@dataclass(frozen=True)
class Scaler:
    lo: np.ndarray
    hi: np.ndarray

    @classmethod
    def fit(cls, features: np.ndarray, q: float = 0.001) -> Scaler:
        x = np.log1p(np.maximum(features, 0.0))
        lo, hi = np.quantile(x, q, axis=0), np.quantile(x, 1 - q, axis=0)
        return cls(lo.astype(np.float32), np.maximum(hi, lo + 1e-3).astype(np.float32))

    def transform(self, features: np.ndarray) -> np.ndarray:
        x = np.log1p(np.maximum(np.asarray(features, dtype=np.float32), 0.0))
        return np.clip((x - self.lo) / (self.hi - self.lo), 0.0, 1.0).astype(np.float32)

    def to_json(self) -> dict[str, list[float]]:
        return {"lo": self.lo.tolist(), "hi": self.hi.tolist()}

    @classmethod
    def from_json(cls, d: dict[str, list[float]]) -> Scaler:
        return cls(np.asarray(d["lo"], dtype=np.float32), np.asarray(d["hi"], dtype=np.float32))


def host_windows(flows: Iterable[FlowRecord], scaler: Scaler, length: int = 10) -> np.ndarray:
    """Sliding windows (stride 1) of each source host's flows in end-time order: (N, T, F)."""
    by_host: dict[str, list[FlowRecord]] = defaultdict(list)
    for f in flows:
        by_host[f.src_ip].append(f)
    out: list[np.ndarray] = []
    for seq in by_host.values():
        seq.sort(key=lambda f: f.end_ts)
        x = scaler.transform(np.asarray([f.features for f in seq]))
        if len(x) < length:
            x = np.concatenate([np.repeat(x[:1], length - len(x), axis=0), x])
        out.extend(x[i - length : i] for i in range(length, len(x) + 1))
    if not out:
        return np.zeros((0, length, len(scaler.lo)), dtype=np.float32)
    return np.stack(out).astype(np.float32)
