"""The node's own benign baseline, learned on the device without labels.

A new sensor knows nothing about the network it watches. For a learning period at first start
(at least ``learn_flows`` flows AND ``learn_s`` seconds of capture time, both configurable) it
collects the flows it sees, then fits a :class:`~edge_agent.detectors.novelty.NoveltyModel`
(per-feature robust ranges and the set of services seen) and, when the node runs the LSTM, the
scale of the LSTM's reconstruction error on this network (its 99th percentile).

Robust to a few attack flows inside the learning period, without labels:

* flows a rule matched (and every flow of a host a rule flagged) are left out;
* the fit is done twice: a first fit scores the learning flows, the most novel ``trim``
  fraction is dropped, the final model is fitted on the rest (quantile ranges move little with
  a few outliers, and a service used only by the trimmed flows is not learned as normal);
* ranges are quantiles (``NoveltyModel.fit``), never min/max.

The fitted baseline is persisted as JSON in the state directory (``baseline.json`` beside the
outbox by default) and reloaded at start, so a restart does not relearn; ``fednids agent
relearn`` deletes it. A restart during the learning period starts the period again. Nothing
of it leaves the node: the status heartbeat carries only ``learning``/``ready`` and progress.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from contracts.events import FlowRecord
from contracts.features import FEATURE_VERSION, FLOW_FEATURES
from edge_agent.capture.errors import EdgeAgentError
from edge_agent.detectors.novelty import NoveltyModel, service

log = logging.getLogger(__name__)
BaselineState = Literal["learning", "ready", "off"]
FORMAT = 1


class BaselineError(EdgeAgentError):
    """The persisted baseline cannot be read or belongs to another feature set."""


@dataclass(frozen=True)
class BaselineConfig:
    learn_flows: int = 1000
    """At least this many (clean) flows before the baseline is fitted."""
    learn_s: float = 86_400.0
    """And at least this much capture time (a day covers the daily cycle of a network)."""
    max_flows: int = 50_000
    """Flows kept for the fit (a uniform reservoir sample beyond that): bounded memory."""
    trim: float = 0.02
    """Fraction of the most novel learning flows dropped before the final fit."""
    lstm_quantile: float = 0.99
    """The LSTM's error scale on this network: this quantile of its learning-period errors."""
    path: Path | None = None
    """Where the fitted baseline is persisted (None: in memory only)."""


class Baseline:
    """Learning period, then scoring. ``observe`` while learning, ``score`` once ready."""

    def __init__(self, config: BaselineConfig | None = None) -> None:
        self.config = config or BaselineConfig()
        self.model: NoveltyModel | None = None
        self.lstm_scale: float | None = None
        self.lstm_version: str | None = None
        self.learned_flows = 0
        self.learned_seconds = 0.0
        self._rows = _Rows()
        self._meta: list[tuple[int, int, int]] = []  # (proto, sport, dport) of each kept row
        self._lstm: list[float] = []
        self._seen = 0
        self._first_ts: float | None = None
        self._last_ts = 0.0
        self._rng = np.random.default_rng(0)
        self.dirty_hosts: set[str] = set()
        """Hosts a rule flagged during learning: their flows are not learned as normal."""
        if self.config.path is not None and self.config.path.exists():
            self._load(self.config.path)

    # -- state ------------------------------------------------------------------------------
    @property
    def state(self) -> BaselineState:
        return "ready" if self.model is not None else "learning"

    @property
    def progress(self) -> float:
        if self.model is not None:
            return 1.0
        c = self.config
        by_flows = min(len(self._rows) / max(c.learn_flows, 1), 1.0)
        span = self._last_ts - self._first_ts if self._first_ts is not None else 0.0
        by_time = min(span / c.learn_s, 1.0) if c.learn_s > 0 else 1.0
        return round(min(by_flows, by_time), 4)

    # -- learning ---------------------------------------------------------------------------
    def observe(self, flow: FlowRecord, flagged: bool, lstm_error: float | None = None) -> bool:
        """Learn from one flow (skipped when ``flagged`` by a rule, or its hosts were);
        returns True when this flow completed the learning period and the baseline is fitted."""
        if self.model is not None:
            return False
        if self._first_ts is None:
            self._first_ts = flow.start_ts
        self._last_ts = max(self._last_ts, flow.end_ts)
        if flagged:
            self.dirty_hosts.add(flow.src_ip)
            if len(self.dirty_hosts) > 10_000:
                self.dirty_hosts.clear()
        elif flow.src_ip not in self.dirty_hosts:
            self._keep(flow, lstm_error)
        c = self.config
        if len(self._rows) >= c.learn_flows and self.progress >= 1.0:
            self.fit()
            return True
        return False

    def _keep(self, flow: FlowRecord, lstm_error: float | None) -> None:
        self._seen += 1
        item = (flow.proto, flow.src_port, flow.dst_port)
        cap = self.config.max_flows
        if lstm_error is not None and len(self._lstm) < cap:
            self._lstm.append(lstm_error)
        if len(self._rows) < cap:
            self._rows.append(flow.features, cap)
            self._meta.append(item)
            return
        j = int(self._rng.integers(0, self._seen))  # reservoir sampling
        if j < cap:
            self._rows.put(j, flow.features)
            self._meta[j] = item

    def fit(self, lstm_version: str | None = None) -> None:
        """Fit the baseline on what was learned so far (needs at least 10 flows)."""
        x = self._rows.array()
        if len(x) < 10:
            raise BaselineError(f"need at least 10 clean flows to fit a baseline, got {len(x)}")
        first = NoveltyModel.fit(x)
        scores = first.score(x)
        keep = scores <= np.quantile(scores, 1.0 - self.config.trim) if len(x) >= 50 else None
        rows = x[keep] if keep is not None else x
        meta = (
            [m for m, k in zip(self._meta, keep, strict=True) if k]
            if keep is not None
            else self._meta
        )
        model = NoveltyModel.fit(rows)
        model.services = {service(*m) for m in meta}
        self.model = model
        if self._lstm:
            self.lstm_scale = max(float(np.quantile(self._lstm, self.config.lstm_quantile)), 1e-9)
            self.lstm_version = lstm_version or self.lstm_version
        self.learned_flows = len(rows)
        self.learned_seconds = self._last_ts - self._first_ts if self._first_ts is not None else 0.0
        self._rows, self._meta, self._lstm = _Rows(), [], []
        self.dirty_hosts.clear()
        log.info(
            "baseline: learned %d flows over %.0f s (%d trimmed), %d services",
            self.learned_flows,
            self.learned_seconds,
            len(x) - len(rows),
            len(model.services),
        )
        if self.config.path is not None:
            self.save(self.config.path)

    def relearn(self) -> None:
        """Forget the fitted baseline and start a new learning period (file removed too)."""
        self.model = None
        self.lstm_scale = None
        self._rows, self._meta, self._lstm = _Rows(), [], []
        self._seen = 0
        self._first_ts = None
        self._last_ts = 0.0
        self.dirty_hosts.clear()
        if self.config.path is not None:
            self.config.path.unlink(missing_ok=True)

    # -- scoring ----------------------------------------------------------------------------
    def score(self, flow: FlowRecord) -> float:
        """Novelty in threshold units (1.0: the benign 99th percentile); 0 while learning."""
        return self.model.flow_score(flow) if self.model is not None else 0.0

    # -- persistence ------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        assert self.model is not None
        m = self.model
        doc: dict[str, Any] = {
            "format": FORMAT,
            "feature_version": FEATURE_VERSION,
            "features": list(FLOW_FEATURES),
            "lo": m.lo.tolist(),
            "hi": m.hi.tolist(),
            "scale": m.scale.tolist(),
            "threshold": m.threshold,
            "services": sorted(m.services or ()),
            "lstm_scale": self.lstm_scale,
            "lstm_version": self.lstm_version,
            "learned_flows": self.learned_flows,
            "learned_seconds": self.learned_seconds,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        with tmp.open("w") as f:
            json.dump(doc, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def _load(self, path: Path) -> None:
        try:
            d = json.loads(path.read_text())
            if d.get("features") != list(FLOW_FEATURES) or d.get("format") != FORMAT:
                raise BaselineError(
                    f"{path}: learned with another feature list; run `fednids agent relearn`"
                )
            self.model = NoveltyModel(
                np.array(d["lo"], dtype=np.float64),
                np.array(d["hi"], dtype=np.float64),
                np.array(d["scale"], dtype=np.float64),
                float(d["threshold"]),
                {(int(p), int(q)) for p, q in d["services"]},
            )
            self.lstm_scale = float(d["lstm_scale"]) if d.get("lstm_scale") else None
            self.lstm_version = d.get("lstm_version")
            self.learned_flows = int(d.get("learned_flows", 0))
            self.learned_seconds = float(d.get("learned_seconds", 0.0))
        except BaselineError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BaselineError(
                f"{path}: cannot read the baseline ({exc}); run `fednids agent relearn`"
            ) from exc
        log.info("baseline: loaded %s (%d flows learned)", path, self.learned_flows)


class _Rows:
    """The learning flows' features in one float64 array that grows by doubling (to the
    reservoir's cap): 392 bytes a flow, where a list of Python floats costs about 1.6 KB."""

    __slots__ = ("_buf", "_n")

    def __init__(self) -> None:
        self._buf: np.ndarray | None = None
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def append(self, row: Sequence[float], cap: int) -> None:
        if self._buf is None:
            self._buf = np.empty((min(1024, cap), len(row)), dtype=np.float64)
        elif self._n == len(self._buf):
            grown = np.empty((min(2 * len(self._buf), cap), self._buf.shape[1]), np.float64)
            grown[: self._n] = self._buf
            self._buf = grown
        self._buf[self._n] = row
        self._n += 1

    def put(self, i: int, row: Sequence[float]) -> None:
        assert self._buf is not None
        self._buf[i] = row

    def array(self) -> np.ndarray:
        if self._buf is None:
            return np.zeros((0, 0), dtype=np.float64)
        return self._buf[: self._n]
