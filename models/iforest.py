"""Isolation Forest over flow features for the hub's ``anomaly-iforest`` service.

Trained on benign flows only (log-scaled features); the threshold is a quantile of the
scores of held-out benign flows. Saved as ``model.joblib`` + ``metadata.json``; ``load``
refuses a model file whose sha256 is not the one in the metadata (joblib is pickle: only
load files the hub wrote itself).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.ensemble import IsolationForest

from contracts.features import FEATURE_VERSION, FLOW_FEATURES
from models.errors import ModelError


@dataclass(frozen=True)
class IForestConfig:
    n_estimators: int = 100
    max_samples: int = 256
    threshold_quantile: float = 0.98
    seed: int = 0


def _transform(x: np.ndarray) -> np.ndarray:
    return np.log1p(np.maximum(np.asarray(x, dtype=np.float64), 0.0))


class IForestModel:
    def __init__(self, forest: IsolationForest, threshold: float, meta: dict[str, Any]) -> None:
        self.forest = forest
        self.threshold = threshold
        self.meta = meta

    def score(self, features: np.ndarray) -> np.ndarray:
        """Higher = more anomalous (the negated sklearn score)."""
        x = np.atleast_2d(features)
        return -self.forest.score_samples(_transform(x))  # type: ignore[no-any-return]

    def save(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        path = out / "model.joblib"
        joblib.dump(self.forest, path, compress=3)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        (out / "metadata.json").write_text(
            json.dumps(self.meta | {"threshold": self.threshold, "sha256": digest}, indent=2)
        )

    @classmethod
    def load(cls, model_dir: Path) -> IForestModel:
        try:
            meta = json.loads((model_dir / "metadata.json").read_text())
            blob = (model_dir / "model.joblib").read_bytes()
        except (OSError, ValueError) as exc:
            raise ModelError(f"{model_dir}: cannot read the Isolation Forest: {exc}") from exc
        if hashlib.sha256(blob).hexdigest() != meta.get("sha256"):
            raise ModelError(
                f"{model_dir}: model.joblib does not match the sha256 in metadata.json; refusing to load it"
            )
        if meta.get("features") != list(FLOW_FEATURES):
            raise ModelError(f"{model_dir}: trained on another feature list")
        forest = joblib.load(model_dir / "model.joblib")
        return cls(forest, float(meta["threshold"]), meta)


def train_iforest(benign: np.ndarray, cfg: IForestConfig | None = None) -> IForestModel:
    cfg = cfg or IForestConfig()
    x = np.asarray(benign, dtype=np.float64)
    if len(x) < 50:
        raise ModelError(f"need at least 50 benign flows, got {len(x)}")
    rng = np.random.default_rng(cfg.seed)
    idx = rng.permutation(len(x))
    cut = int(len(x) * 0.8)
    forest = IsolationForest(
        n_estimators=cfg.n_estimators, max_samples=min(cfg.max_samples, cut), random_state=cfg.seed
    )
    forest.fit(_transform(x[idx[:cut]]))
    model = IForestModel(forest, 0.0, {})
    held = model.score(x[idx[cut:]])
    model.threshold = float(np.quantile(held, cfg.threshold_quantile))
    model.meta = {
        "model_name": "iforest",
        "features": list(FLOW_FEATURES),
        "feature_version": FEATURE_VERSION,
        "config": asdict(cfg),
        "train_flows": cut,
        "heldout_flows": len(x) - cut,
        "created": time.time(),
        "training_data_sha256": hashlib.sha256(
            np.ascontiguousarray(x[idx[:cut]]).tobytes()
        ).hexdigest(),
    }
    return model
