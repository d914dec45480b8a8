"""The threat classifier: flow features + detector votes -> attack family, with a calibrated
confidence and the features that weighed most in each verdict.

HistGradientBoosting, calibrated with isotonic regression on a held-out split
(``CalibratedClassifierCV``). "Why" per prediction: each feature's global permutation
importance (measured on held-out data at training time) times how far the flow's value is
from the benign median in robust units; the top ones are reported.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from sklearn.model_selection import train_test_split

from contracts.events import ATTACK_FAMILIES
from contracts.features import FLOW_FEATURES
from contracts.scaling import log_features
from edge_agent.capture.sim import SCENARIO_FAMILY
from models.errors import ModelError

VOTES = ("rules", "lstm", "novelty", "iforest")
INPUTS = (*FLOW_FEATURES, *(f"vote_{v}" for v in VOTES))
SIM_FAMILY = SCENARIO_FAMILY


def design(features: np.ndarray, votes: np.ndarray) -> np.ndarray:
    return np.hstack(
        [
            log_features(features, dtype=np.float64),
            np.asarray(votes, dtype=np.float64),
        ]
    )


class ThreatClassifier:
    def __init__(
        self,
        model: Any,
        classes: list[str],
        importance: np.ndarray,
        center: np.ndarray,
        scale: np.ndarray,
        meta: dict[str, Any],
    ) -> None:
        self.model, self.classes, self.importance = model, classes, importance
        self.center, self.scale, self.meta = center, scale, meta

    def predict(
        self, features: np.ndarray, votes: np.ndarray, top: int = 5
    ) -> tuple[list[str], np.ndarray, list[list[tuple[str, float, float]]]]:
        x = design(features, votes)
        proba = self.model.predict_proba(x)
        idx = proba.argmax(axis=1)
        contrib = np.abs((x - self.center) / self.scale) * self.importance
        why = []
        for row, c in zip(x, contrib, strict=True):
            order = np.argsort(-c)[:top]
            why.append([(INPUTS[i], float(row[i]), float(c[i])) for i in order if c[i] > 0])
        return [self.classes[i] for i in idx], proba[np.arange(len(idx)), idx], why

    def probabilities(self, features: np.ndarray, votes: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(design(features, votes))  # type: ignore[no-any-return]

    def save(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        path = out / "model.joblib"
        joblib.dump(
            {
                "model": self.model,
                "importance": self.importance,
                "center": self.center,
                "scale": self.scale,
            },
            path,
            compress=3,
        )
        meta = self.meta | {
            "classes": self.classes,
            "inputs": list(INPUTS),
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        }
        (out / "metadata.json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, model_dir: Path) -> ThreatClassifier:
        try:
            meta = json.loads((model_dir / "metadata.json").read_text())
            blob = (model_dir / "model.joblib").read_bytes()
        except (OSError, ValueError) as exc:
            raise ModelError(f"{model_dir}: cannot read the classifier: {exc}") from exc
        if hashlib.sha256(blob).hexdigest() != meta.get("sha256"):
            raise ModelError(
                f"{model_dir}: model.joblib does not match the sha256 in metadata.json; refusing to load it"
            )
        if meta.get("inputs") != list(INPUTS):
            raise ModelError(f"{model_dir}: trained on another input list")
        d = joblib.load(model_dir / "model.joblib")
        return cls(
            d["model"], list(meta["classes"]), d["importance"], d["center"], d["scale"], meta
        )


def train_classifier(
    features: np.ndarray,
    votes: np.ndarray,
    families: list[str],
    seed: int = 0,
    training_data: list[dict[str, Any]] | None = None,
    max_iter: int = 150,
) -> tuple[ThreatClassifier, dict[str, Any]]:
    """Fit on 70 %, calibrate inside (3-fold isotonic), report macro-F1 on the held-out 30 %.
    ``training_data`` describes where the rows came from (kept in the metadata)."""
    from sklearn.metrics import classification_report, f1_score

    y = np.asarray(families)
    unknown = set(y) - set(ATTACK_FAMILIES)
    if unknown:
        raise ModelError(f"unknown families {sorted(unknown)}")
    names, counts = np.unique(y, return_counts=True)
    few = {str(n): int(c) for n, c in zip(names, counts, strict=True) if c < 10}
    if few or len(names) < 2:
        raise ModelError(
            f"need at least 2 families with 10 rows each to train and hold out; too few: {few}"
        )
    x = design(features, votes)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.3, random_state=seed, stratify=y)
    base = HistGradientBoostingClassifier(max_iter=max_iter, learning_rate=0.1, random_state=seed)
    model = CalibratedClassifierCV(base, method="isotonic", cv=3).fit(xtr, ytr)
    sample = np.random.default_rng(seed).permutation(len(xte))[:3000]
    imp = permutation_importance(
        model, xte[sample], yte[sample], n_repeats=2, random_state=seed, scoring="f1_macro"
    )
    benign = xtr[ytr == "benign"] if (ytr == "benign").any() else xtr
    center = np.median(benign, axis=0)
    scale = np.maximum(np.quantile(benign, 0.75, axis=0) - np.quantile(benign, 0.25, axis=0), 0.1)
    pred = model.predict(xte)
    report = {
        "heldout_macro_f1": float(f1_score(yte, pred, average="macro")),
        "per_class": {
            k: v
            for k, v in classification_report(yte, pred, output_dict=True, zero_division=0).items()
            if k in set(y)
        },
        "train_rows": len(xtr),
        "heldout_rows": len(xte),
    }
    # permutation importance spreads thin over correlated features (permuting one of five
    # redundant ones costs nothing): a floor keeps a feature far from benign visible in "why"
    importance = np.maximum(imp.importances_mean, 0.0)
    importance = importance + 0.05 * max(float(importance.max()), 1e-3)
    clf = ThreatClassifier(
        model,
        [str(c) for c in model.classes_],
        importance,
        center,
        scale,
        {
            "model_name": "threat-classifier",
            "created": time.time(),
            **report,
            **({"training_data": training_data} if training_data is not None else {}),
        },
    )
    return clf, report
