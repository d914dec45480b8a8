"""Training of the threat classifier (:mod:`models.classifier` is what the hub loads).

HistGradientBoosting, calibrated with isotonic regression on a held-out split
(``CalibratedClassifierCV``); each input's permutation importance is measured on held-out
data for the "why" of each verdict.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from sklearn.model_selection import train_test_split

from contracts.events import ATTACK_FAMILIES
from models.classifier import ThreatClassifier, design
from models.errors import ModelError


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
