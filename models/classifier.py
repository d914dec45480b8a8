"""The threat classifier: flow features + detector votes -> attack family, with a calibrated
confidence and the features that weighed most in each verdict.

HistGradientBoosting, calibrated with isotonic regression on a held-out split
(``CalibratedClassifierCV``). "Why" per prediction: each feature's global permutation
importance (measured on held-out data at training time) times how far the flow's value is
from the benign median in robust units; the top ones are reported.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from contracts.features import FLOW_FEATURES
from contracts.model_dir import ModelDirError, read_model_dir, write_model_dir
from contracts.scaling import log_features
from models.errors import ModelError

# The detector-vote columns, in order: part of the artifact (its metadata records them as
# "votes"); the hub reads them from the loaded model (``ThreatClassifier.votes``).
VOTES = ("rules", "lstm", "novelty", "iforest")
INPUTS = (*FLOW_FEATURES, *(f"vote_{v}" for v in VOTES))
MODEL_FILE = "model.joblib"


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

    def save(self, out: Path) -> dict[str, Any]:
        """Write ``model.joblib`` + ``metadata.json`` atomically; returns the metadata."""
        buf = io.BytesIO()
        joblib.dump(
            {
                "model": self.model,
                "importance": self.importance,
                "center": self.center,
                "scale": self.scale,
            },
            buf,
            compress=3,
        )
        meta = self.meta | {"classes": self.classes, "inputs": list(INPUTS), "votes": list(VOTES)}
        try:
            return write_model_dir(
                out,
                {MODEL_FILE: buf.getvalue()},
                meta,
                primary=MODEL_FILE,
                training_data=self.meta.get("training_data"),
            )
        except ModelDirError as exc:
            raise ModelError(str(exc)) from exc

    @property
    def votes(self) -> tuple[str, ...]:
        """The detector-vote columns the model was trained on, in order (from its metadata;
        :data:`VOTES` for an artifact written before the metadata carried them)."""
        return tuple(self.meta.get("votes", VOTES))

    @classmethod
    def load(cls, model_dir: Path) -> ThreatClassifier:
        """Verify the directory, then unpickle the bytes that were verified."""
        try:
            loaded = read_model_dir(model_dir, [MODEL_FILE], primary=MODEL_FILE)
        except ModelDirError as exc:
            raise ModelError(f"cannot load the classifier: {exc}") from exc
        meta = loaded.metadata
        if meta.get("inputs") != list(INPUTS) or tuple(meta.get("votes", VOTES)) != VOTES:
            raise ModelError(f"{model_dir}: trained on another input list")
        d = joblib.load(io.BytesIO(loaded.blob(MODEL_FILE)))
        return cls(
            d["model"], list(meta["classes"]), d["importance"], d["center"], d["scale"], meta
        )
