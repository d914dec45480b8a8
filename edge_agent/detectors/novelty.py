"""A light learned detector for the Pi: per-feature novelty against benign flows.

Fitted on flows the node saw while it was known to be clean (numpy only), it scores a flow
by how far its (log-scaled) features fall outside the benign range, summed over features.
It complements the rules (which know attacks) and the LSTM autoencoder (which knows
sequences): this one knows what this network's single flows look like.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from contracts.events import AnomalyEvent, FlowRecord
from contracts.features import FEATURE_VERSION, FLOW_FEATURES
from contracts.scaling import log_features, log_features_into

_sum = np.add.reduce


def transform(x: np.ndarray) -> np.ndarray:
    return log_features(x, dtype=None)


NEW_SERVICE_WEIGHT = 3.0
"""Added (in threshold units) for a flow to a service (proto, port) never seen in training."""


def service(proto: int, sport: int, dport: int) -> tuple[int, int]:
    """The service side of a flow: the lower port for TCP/UDP (the initiator may be either)."""
    return (proto, min(sport, dport)) if proto in (6, 17) else (proto, 0)


class NoveltyModel:
    def __init__(
        self,
        lo: np.ndarray,
        hi: np.ndarray,
        scale: np.ndarray,
        threshold: float,
        services: set[tuple[int, int]] | None = None,
    ) -> None:
        self.lo, self.hi, self.scale, self.threshold = lo, hi, scale, threshold
        self.services = services
        self._zero = np.zeros((), dtype=np.float64)  # the 0.0 numpy makes of a Python 0.0

    def flow_score(self, flow: FlowRecord) -> float:
        """Score in threshold units: 1.0 is the benign 99th percentile."""
        s = self.row_score(flow.features) / max(self.threshold, 1e-9)
        if (
            self.services is not None
            and service(flow.proto, flow.src_port, flow.dst_port) not in self.services
        ):
            s += NEW_SERVICE_WEIGHT
        return s

    @classmethod
    def fit_flows(cls, flows: list[FlowRecord], **kw: float) -> NoveltyModel:
        model = cls.fit(np.asarray([f.features for f in flows]), **kw)
        model.services = {service(f.proto, f.src_port, f.dst_port) for f in flows}
        return model

    @classmethod
    def fit(cls, features: np.ndarray, quantile: float = 0.995, fpr: float = 0.01) -> NoveltyModel:
        """Fit on benign flow features (rows); threshold = the (1-fpr) quantile of the scores
        of a held-out third of them."""
        x = transform(np.asarray(features, dtype=np.float64))
        if len(x) < 10:
            raise ValueError(f"need at least 10 benign flows to fit, got {len(x)}")
        rng = np.random.default_rng(0)
        idx = rng.permutation(len(x))
        cut = max(5, (2 * len(x)) // 3)
        fit, held = x[idx[:cut]], x[idx[cut:]]
        lo = np.quantile(fit, 1 - quantile, axis=0)
        hi = np.quantile(fit, quantile, axis=0)
        scale = np.maximum(hi - lo, 0.5)
        model = cls(lo, hi, scale, 0.0)
        model.threshold = (
            float(np.quantile(model.score(held, transformed=True), 1 - fpr)) if len(held) else 1.0
        )
        return model

    def row_score(self, features: list[float]) -> float:
        """``float(score(np.asarray(features)))`` of one flow, in place on two buffers (the
        same float64 ufuncs in the same order: the same value to the bit)."""
        zero = self._zero
        x = log_features_into(np.array(features, dtype=np.float64), zero)
        over = np.subtract(x, self.hi)
        np.maximum(over, zero, out=over)
        np.subtract(self.lo, x, out=x)
        np.maximum(x, zero, out=x)
        np.add(over, x, out=over)
        np.divide(over, self.scale, out=over)
        return float(_sum(over))  # what ndarray.sum calls, without its Python wrapper

    def score(self, features: np.ndarray, transformed: bool = False) -> np.ndarray:
        x = features if transformed else transform(np.asarray(features, dtype=np.float64))
        over = np.maximum(x - self.hi, 0.0) + np.maximum(self.lo - x, 0.0)
        return (over / self.scale).sum(axis=-1)

    def save(self, path: Path) -> None:
        path.write_text(
            json.dumps(
                {
                    "feature_version": FEATURE_VERSION,
                    "features": list(FLOW_FEATURES),
                    "lo": self.lo.tolist(),
                    "hi": self.hi.tolist(),
                    "scale": self.scale.tolist(),
                    "threshold": self.threshold,
                    "services": sorted(self.services) if self.services is not None else None,
                }
            )
        )

    @classmethod
    def load(cls, path: Path) -> NoveltyModel:
        d = json.loads(path.read_text())
        if d.get("features") != list(FLOW_FEATURES):
            raise ValueError(
                f"{path}: feature list does not match this agent's (version {FEATURE_VERSION})"
            )
        services = (
            {(int(p), int(q)) for p, q in d["services"]} if d.get("services") is not None else None
        )
        return cls(
            np.array(d["lo"]),
            np.array(d["hi"]),
            np.array(d["scale"]),
            float(d["threshold"]),
            services,
        )


class NoveltyDetector:
    """Detector wrapper: an :class:`AnomalyEvent` for flows scoring above the threshold."""

    name = "novelty"

    def __init__(self, model: NoveltyModel) -> None:
        self.model = model

    def on_flow(self, flow: FlowRecord) -> list[AnomalyEvent]:
        s = self.model.flow_score(flow)
        if s <= 1.0:
            return []
        return [
            AnomalyEvent.about_flow(
                flow,
                detector="novelty",
                score=s,
                threshold=1.0,
                severity="low",
            )
        ]

    def on_tick(self, now: float) -> list[AnomalyEvent]:
        return []
