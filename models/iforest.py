"""Isolation Forest over flow features for the hub's ``anomaly-iforest`` service.

Trained on benign flows only (log-scaled features); the threshold is a quantile of the
scores of held-out benign flows. Saved as ``model.joblib`` + ``metadata.json`` through
:mod:`contracts.model_dir`; ``load`` refuses a model file whose sha256 is not the one in the
metadata and unpickles the bytes it checked (joblib is pickle: only load files the hub
wrote itself).
"""

from __future__ import annotations

import hashlib
import io
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.ensemble import IsolationForest

from contracts.features import FEATURE_VERSION, FLOW_FEATURES
from contracts.model_dir import ModelDirError, read_model_dir, write_model_dir
from contracts.scaling import log_features
from models.errors import ModelError


@dataclass(frozen=True)
class IForestConfig:
    n_estimators: int = 100
    max_samples: int = 256
    threshold_quantile: float = 0.98
    seed: int = 0


MODEL_FILE = "model.joblib"
RANGE_QUANTILE = 0.995
RANGE_PAD = math.log(4.0)


def _transform(x: np.ndarray) -> np.ndarray:
    return log_features(x, dtype=np.float64)


class IForestModel:
    """The forest, its threshold and, for a per-node baseline, an optional range guard:
    ``upper`` per feature (log1p space); a flow beyond it in any feature scores above the
    threshold by its largest excess. An Isolation Forest alone cannot see such a flow: a
    value past the training range lands in the same leaf as the most extreme training
    flows, so it never scores higher than the benign tail."""

    def __init__(
        self,
        forest: IsolationForest,
        threshold: float,
        meta: dict[str, Any],
        upper: np.ndarray | None = None,
    ) -> None:
        self.forest = forest
        self.threshold = threshold
        self.meta = meta
        self.upper = upper

    def _excess(self, x: np.ndarray) -> np.ndarray:
        assert self.upper is not None
        return _transform(x) - self.upper  # type: ignore[no-any-return]

    def score(self, features: np.ndarray) -> np.ndarray:
        """Higher = more anomalous (the negated sklearn score, raised past the threshold for
        a flow beyond the range guard)."""
        x = np.atleast_2d(features)
        s = -self.forest.score_samples(_transform(x))
        if self.upper is not None:
            over = self._excess(x).max(axis=1)
            s = np.where(over > 0, np.maximum(s, self.threshold + over), s)
        return s  # type: ignore[no-any-return]

    def beyond_range(self, features: np.ndarray) -> list[str | None]:
        """Per flow, the feature most beyond the range guard (None: within it, or no guard)."""
        x = np.atleast_2d(features)
        if self.upper is None:
            return [None] * len(x)
        ex = self._excess(x)
        j = ex.argmax(axis=1)
        return [FLOW_FEATURES[k] if ex[i, k] > 0 else None for i, k in enumerate(j)]

    def save(self, out: Path) -> dict[str, Any]:
        """Write ``model.joblib`` + ``metadata.json`` atomically; returns the metadata."""
        buf = io.BytesIO()
        joblib.dump(self.forest, buf, compress=3)
        extra = {"range_upper": [float(v) for v in self.upper]} if self.upper is not None else {}
        try:
            return write_model_dir(
                out,
                {MODEL_FILE: buf.getvalue()},
                self.meta | extra | {"threshold": self.threshold},
                primary=MODEL_FILE,
                training_data=self.meta.get("training_data"),
            )
        except ModelDirError as exc:
            raise ModelError(str(exc)) from exc

    @classmethod
    def load(cls, model_dir: Path) -> IForestModel:
        """Verify the directory, then unpickle the bytes that were verified."""
        try:
            loaded = read_model_dir(model_dir, [MODEL_FILE], primary=MODEL_FILE)
        except ModelDirError as exc:
            raise ModelError(f"cannot load the Isolation Forest: {exc}") from exc
        meta = loaded.metadata
        if meta.get("features") != list(FLOW_FEATURES):
            raise ModelError(f"{model_dir}: trained on another feature list")
        upper = None
        if meta.get("range_upper") is not None:
            try:
                upper = np.asarray(meta["range_upper"], dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise ModelError(f"{model_dir}: bad range_upper: {exc}") from exc
            if upper.shape != (len(FLOW_FEATURES),) or not np.isfinite(upper).all():
                raise ModelError(f"{model_dir}: range_upper must be one finite value per feature")
        try:
            threshold = float(meta["threshold"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{model_dir}: no threshold in metadata.json") from exc
        forest = joblib.load(io.BytesIO(loaded.blob(MODEL_FILE)))
        return cls(forest, threshold, meta, upper)


def train_iforest(
    benign: np.ndarray,
    cfg: IForestConfig | None = None,
    *,
    groups: np.ndarray | None = None,
    training_data: list[dict[str, Any]] | None = None,
) -> IForestModel:
    """Fit on 80 % of ``benign``; the threshold is the ``threshold_quantile`` of the held-out
    20 %. With ``groups`` (one source id per row), it is the largest of the per-source
    held-out quantiles (sources with at least 20 held-out flows), so that no training source,
    e.g. a real network beside a larger simulated one, sees more than ``1 - q`` of its
    held-out flows flagged. ``training_data`` describes the sources for the metadata."""
    cfg = cfg or IForestConfig()
    x = np.asarray(benign, dtype=np.float64)
    if len(x) < 50:
        raise ModelError(f"need at least 50 benign flows, got {len(x)}")
    if groups is not None and len(groups) != len(x):
        raise ModelError(f"{len(groups)} group ids for {len(x)} flows")
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
    per_group: dict[str, float] = {}
    if groups is not None:
        g = np.asarray(groups)[idx[cut:]]
        for name in sorted(set(g.tolist())):
            s = held[g == name]
            if len(s) >= 20:
                per_group[str(name)] = float(np.quantile(s, cfg.threshold_quantile))
        if per_group:
            model.threshold = max(per_group.values())
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
    if per_group:
        model.meta["threshold_per_source"] = per_group
    if training_data is not None:
        model.meta["training_data"] = training_data
    return model


def fit_robust(
    flows: np.ndarray,
    *,
    trim: float = 0.05,
    threshold_quantile: float = 0.99,
    n_estimators: int = 100,
    seed: int = 0,
    range_guard: bool = True,
    range_quantile: float = RANGE_QUANTILE,
    range_pad: float = RANGE_PAD,
    meta: dict[str, Any] | None = None,
) -> IForestModel:
    """A model of one network's own flows, robust to a few attack flows among them.

    A random 20 % of the flows is held out for the threshold. Of the other 80 %, a first
    forest drops the ``trim`` most isolated (the outliers an attack inside the learning
    period would be) and the model is fitted on the rest, so those flows never become
    "normal". The threshold is the ``threshold_quantile`` of the model's scores on the
    held-out flows, all of them: dropping the tail there as well would put the threshold
    inside the benign tail (about ``trim`` of benign flows flagged); attack flows up to
    ``1 - threshold_quantile`` of the learning period barely move that quantile.

    With ``range_guard``, the model also keeps each feature's ``range_quantile`` over all
    the learning flows (log1p space; a quantile, not the maximum, so the most extreme
    0.5 % of them, e.g. 10 attack flows in 2000, do not stretch it; not the trimmed flows,
    whose range is narrower than the network's) plus ``range_pad`` (log 4: about four
    times the value): a flow past it in any feature is anomalous."""
    x = np.asarray(flows, dtype=np.float64)
    if not 0.0 <= trim < 0.5:
        raise ModelError(f"trim must be in [0, 0.5), got {trim}")
    if len(x) < 50:
        raise ModelError(f"need at least 50 flows, got {len(x)}")
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(x))
    cut = int(len(x) * 0.8)
    fit_x, held_x = x[idx[:cut]], x[idx[cut:]]
    kept = fit_x
    if trim > 0:
        pre = IsolationForest(
            n_estimators=max(25, n_estimators // 2),
            max_samples=min(256, len(fit_x)),
            random_state=seed,
        ).fit(_transform(fit_x))
        s = -pre.score_samples(_transform(fit_x))
        kept = fit_x[s <= np.quantile(s, 1.0 - trim)]
    forest = IsolationForest(
        n_estimators=n_estimators, max_samples=min(256, len(kept)), random_state=seed
    ).fit(_transform(kept))
    model = IForestModel(forest, 0.0, {})
    model.threshold = float(np.quantile(model.score(held_x), threshold_quantile))
    if range_guard:
        model.upper = np.quantile(_transform(x), range_quantile, axis=0) + range_pad
    model.meta = {
        "model_name": "iforest",
        "features": list(FLOW_FEATURES),
        "feature_version": FEATURE_VERSION,
        "config": {
            "n_estimators": n_estimators,
            "max_samples": min(256, len(kept)),
            "threshold_quantile": threshold_quantile,
            "seed": seed,
        },
        "learning_flows": len(x),
        "train_flows": len(kept),
        "trimmed_flows": len(fit_x) - len(kept),
        "heldout_flows": len(held_x),
        "trim": trim,
        "range_guard": {"quantile": range_quantile, "pad": range_pad} if range_guard else None,
        "created": time.time(),
    }
    if meta:
        model.meta |= meta
    return model
