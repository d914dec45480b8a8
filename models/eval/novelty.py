"""A novelty gate for tabular evaluations: distance to the nearest NORMAL training rows.

A supervised classifier only knows the attacks it was trained on; the official NSL-KDD test
sets hold attack types that training never shows (mscan, apache2, processtable, snmpguess,
...). fednids' hub pairs the classifier with detectors trained on normal traffic only
(Isolation Forest, the edge novelty model and LSTM); this gate plays that part here: a row
the classifier calls normal but that lies farther from every normal training row than the
``quantile`` of held-out normal TRAINING rows is called an attack.

Everything is fitted on the training part: the encoding (log1p of the numeric columns,
one-hot of the categorical ones with the training levels), the scaling, the reference rows
and the threshold (the held-out normal rows are training rows too). The operating point is
fixed beforehand (``quantile=0.99``: one normal training row in a hundred is flagged), never
chosen on a test part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

from models.errors import ModelError


@dataclass
class NormalGate:
    numeric: list[str]
    levels: dict[str, list[object]]
    mean: np.ndarray
    scale: np.ndarray
    knn: NearestNeighbors
    heldout_distances: np.ndarray
    quantile: float

    @classmethod
    def fit(
        cls,
        x: pd.DataFrame,
        normal: np.ndarray,
        categorical: list[str] | None = None,
        quantile: float = 0.99,
        k: int = 3,
        holdout: float = 0.2,
        seed: int = 0,
    ) -> NormalGate:
        if not 0.0 < quantile < 1.0:
            raise ModelError(f"novelty gate: quantile must be in (0, 1), got {quantile}")
        cats = list(categorical or [])
        idx = np.flatnonzero(np.asarray(normal, dtype=bool))
        if len(idx) < 10 * k:
            raise ModelError(f"novelty gate: {len(idx)} normal training rows, need >= {10 * k}")
        numeric = [c for c in x.columns if c not in cats]
        levels = {c: sorted(set(x[c]), key=str) for c in cats}
        enc = _encode(x, numeric, levels)
        mean, scale = enc.mean(axis=0), enc.std(axis=0) + 1e-6
        rng = np.random.default_rng(seed)
        rng.shuffle(idx)
        cut = max(int(len(idx) * (1.0 - holdout)), k)
        ref, held = idx[:cut], idx[cut:]
        z = (enc - mean) / scale
        knn = NearestNeighbors(n_neighbors=k).fit(z[ref])
        held_d = knn.kneighbors(z[held])[0].mean(axis=1)
        return cls(numeric, levels, mean, scale, knn, held_d, quantile)

    def threshold(self, quantile: float | None = None) -> float:
        return float(np.quantile(self.heldout_distances, quantile or self.quantile))

    def distance(self, x: pd.DataFrame) -> np.ndarray:
        z = (_encode(x, self.numeric, self.levels) - self.mean) / self.scale
        return self.knn.kneighbors(z)[0].mean(axis=1)

    def flags(self, x: pd.DataFrame, quantile: float | None = None) -> np.ndarray:
        return self.distance(x) > self.threshold(quantile)


def _encode(x: pd.DataFrame, numeric: list[str], levels: dict[str, list[object]]) -> np.ndarray:
    num = np.log1p(np.clip(x[numeric].to_numpy(dtype=float), 0.0, None))
    num = np.nan_to_num(num, nan=0.0, posinf=0.0)
    hot = [
        np.stack([(x[c].to_numpy() == v) for v in lv], axis=1).astype(float)
        for c, lv in levels.items()
    ]
    return np.hstack([num, *hot]) if hot else num


def gated(
    pred: np.ndarray, proba: np.ndarray, classes: list[str], flagged: np.ndarray
) -> np.ndarray:
    """Rows called normal but flagged become the most probable attack class."""
    if "normal" not in classes:
        raise ModelError("novelty gate: the classifier has no 'normal' class")
    attack_cols = [i for i, c in enumerate(classes) if c != "normal"]
    best = np.asarray(classes, dtype=object)[
        np.asarray(attack_cols)[np.argmax(proba[:, attack_cols], axis=1)]
    ]
    out = np.asarray(pred, dtype=object).copy()
    swap = flagged & (out == "normal")
    out[swap] = best[swap]
    return out
