"""``anomaly-iforest``: ``network_data`` -> ``anomalies`` with the Isolation Forest.

Each node's own traffic is its baseline (:class:`NodeLearning`): the first ``flows`` flows
a node sends are its learning period, during which its flows raise no iforest anomaly; then
a forest is fitted on them (after trimming the most isolated few, so a handful of attack
flows inside the period do not become "normal") with a threshold at a high quantile of its
own held-out learning flows, and it scores that node's flows from then on. The node's model
also keeps a range guard: a flow far past what the node showed in any feature (about four
times its 99.5th percentile there) is anomalous, which a forest alone cannot see (the evidence
names that feature). The fitted models
(and unfinished learning periods) are kept in a state directory, so a restart does not
relearn. At most ``max_nodes`` nodes get a model of their own; a node past that cap, and
every node when learning is off, is scored by the shipped forest (trained on the simulator
and real benign captures). One node's flows only ever reach its own model.

The hub sees every node's flows, so it adds what no single sensor can: how many sensors saw
the same source recently. On single flows the forest is a weak signal (by construction about
1-2 % of a network's benign flows pass its threshold), so its verdicts are "low" and feed the
classifier; a source anomalous at two or more sensors is raised to "medium" (an alert) and
the evidence names them.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from contracts.events import AnomalyEvent, EventBase, FlowRecord
from contracts.features import FLOW_FEATURES
from contracts.topics import KafkaTopic
from hub.services.eventtime import MAX_SKEW_S
from models.errors import ModelError
from models.iforest import IForestModel, fit_robust
from models.paths import artifact_dir

DEFAULT_MODEL = artifact_dir("iforest")
WINDOW_S = 60.0
MAX_SOURCES = 100_000
LEARNING_FILE = "learning.npy"
SAVE_EVERY = 250
"""An unfinished learning period is written to disk after this many new flows (and at fit)."""

log = logging.getLogger("fednids.hub.iforest")


@dataclass(frozen=True)
class NodeLearning:
    """Per-node baselines. ``flows`` 0 turns them off (the shipped model scores every node)."""

    flows: int = 2000
    max_nodes: int = 256
    trim: float = 0.05
    quantile: float = 0.99
    state_dir: Path | None = None
    n_estimators: int = 100
    range_guard: bool = True
    """flag a flow past the node's learned range in any feature (see ``IForestModel``)"""


@dataclass
class _Node:
    buffer: list[np.ndarray] = field(default_factory=list)
    model: IForestModel | None = None
    unsaved: int = 0


class NodeBaselines:
    """The per-node learning periods and models, bounded to ``max_nodes`` nodes."""

    def __init__(self, cfg: NodeLearning) -> None:
        if cfg.flows < 50:
            raise ModelError(f"a learning period needs at least 50 flows, got {cfg.flows}")
        self.cfg = cfg
        self.nodes: dict[str, _Node] = {}
        self.refused: set[str] = set()
        if cfg.state_dir is not None:
            self._load(cfg.state_dir)

    # ---------------------------------------------------------------- state
    def _load(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if len(self.nodes) >= self.cfg.max_nodes:
                log.warning("iforest state: more node dirs than max_nodes; %s and later skipped", d)
                break
            node = _Node()
            if (d / "model.joblib").is_file():
                try:
                    node.model = IForestModel.load(d)
                except ModelError as exc:
                    log.error("iforest state: %s; that node learns again", exc)
            if node.model is None and (d / LEARNING_FILE).is_file():
                try:
                    arr = np.load(d / LEARNING_FILE, allow_pickle=False)
                    if arr.ndim == 2 and arr.shape[1] == len(FLOW_FEATURES):
                        node.buffer = list(arr[: self.cfg.flows])
                except (OSError, ValueError) as exc:
                    log.error("iforest state: %s: %s; that node learns again", d, exc)
            self.nodes[d.name] = node

    def _save_buffer(self, node_id: str, node: _Node) -> None:
        root = self.cfg.state_dir
        if root is None or not node.buffer:
            return
        d = root / node_id
        d.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=d, prefix=".learning.", suffix=".npy")
        with os.fdopen(fd, "wb") as f:
            np.save(f, np.asarray(node.buffer, dtype=np.float32), allow_pickle=False)
        os.replace(tmp, d / LEARNING_FILE)
        node.unsaved = 0

    def _save_model(self, node_id: str, model: IForestModel) -> None:
        root = self.cfg.state_dir
        if root is None:
            return
        # one atomic replacement of the node's directory: the model and its metadata
        # arrive together and the learning buffer they replace goes with the old directory
        try:
            model.save(root / node_id)
        except ModelError as exc:
            log.error("iforest state: %s; %s keeps its baseline in memory only", exc, node_id)

    # ---------------------------------------------------------------- learning
    def admitted(self, node_id: str) -> _Node | None:
        node = self.nodes.get(node_id)
        if node is None:
            if len(self.nodes) >= self.cfg.max_nodes:
                if node_id not in self.refused and len(self.refused) < 10_000:
                    self.refused.add(node_id)
                    log.warning(
                        "iforest: %d nodes have baselines (max_nodes); %s uses the shipped model",
                        len(self.nodes),
                        node_id,
                    )
                return None
            node = self.nodes[node_id] = _Node()
        return node

    def learn(self, node_id: str, node: _Node, features: np.ndarray) -> int:
        """Add learning flows; returns how many of ``features`` the period took (the rest
        are to be scored by the model fitted when it filled up)."""
        need = self.cfg.flows - len(node.buffer)
        take = features[:need]
        node.buffer.extend(np.asarray(take, dtype=np.float32))
        node.unsaved += len(take)
        if len(node.buffer) >= self.cfg.flows:
            t0 = time.perf_counter()
            node.model = fit_robust(
                np.asarray(node.buffer),
                trim=self.cfg.trim,
                threshold_quantile=self.cfg.quantile,
                n_estimators=self.cfg.n_estimators,
                range_guard=self.cfg.range_guard,
                meta={"node_id": node_id, "kind": "per-node baseline"},
            )
            node.buffer = []
            self._save_model(node_id, node.model)
            log.info(
                "iforest: %s learned its baseline on %d flows in %.1f s (threshold %.4f)",
                node_id,
                self.cfg.flows,
                time.perf_counter() - t0,
                node.model.threshold,
            )
        elif node.unsaved >= SAVE_EVERY:
            self._save_buffer(node_id, node)
        return len(take)

    def flush(self) -> None:
        """Write every unfinished learning period (call before stopping)."""
        for node_id, node in self.nodes.items():
            if node.model is None and node.unsaved:
                self._save_buffer(node_id, node)

    def status(self, node_id: str) -> tuple[str, float | None]:
        """``("learning", progress)``, ``("ready", 1.0)`` or ``("off", None)`` (not admitted)."""
        node = self.nodes.get(node_id)
        if node is None:
            return ("off", None) if node_id in self.refused else ("learning", 0.0)
        if node.model is not None:
            return "ready", 1.0
        return "learning", len(node.buffer) / self.cfg.flows


class IForestService:
    name = "anomaly-iforest"
    inputs: Sequence[str] = (KafkaTopic.NETWORK_DATA.value,)
    accepts = frozenset({"flow"})

    def __init__(
        self,
        model: IForestModel,
        learning: NodeLearning | None = None,
        wall: Callable[[], float] = time.time,
        max_skew_s: float = MAX_SKEW_S,
    ) -> None:
        self.model = model
        self._wall, self.max_skew_s = wall, max_skew_s
        """The shipped forest: every node's model when learning is off, else the fallback."""
        self.baselines = (
            NodeBaselines(learning) if learning is not None and learning.flows > 0 else None
        )
        self._seen: OrderedDict[str, dict[str, float]] = OrderedDict()  # src -> {sensor: last ts}

    def _sensors(self, flow: FlowRecord) -> list[str]:
        seen = self._seen.get(flow.src_ip)
        if seen is None:
            seen = self._seen[flow.src_ip] = {}
            if len(self._seen) > MAX_SOURCES:
                self._seen.popitem(last=False)
        else:
            self._seen.move_to_end(flow.src_ip)
        if flow.end_ts <= self._wall() + self.max_skew_s:  # a sighting from the future is not one
            seen[flow.node_id] = flow.end_ts
        # within WINDOW_S either way: a node's times never make another's sightings "recent"
        return sorted(n for n, t in seen.items() if abs(flow.end_ts - t) <= WINDOW_S)

    def _score(self, flows: list[FlowRecord]) -> list[tuple[float, IForestModel, str] | None]:
        """Per flow: (score, the model that scored it, its kind), or None while learning."""
        out: list[tuple[float, IForestModel, str] | None] = [None] * len(flows)
        by_node: dict[str, list[int]] = {}
        for i, f in enumerate(flows):
            by_node.setdefault(f.node_id, []).append(i)
        for node_id, idx in by_node.items():
            x = np.asarray([flows[i].features for i in idx], dtype=np.float64)
            node = self.baselines.admitted(node_id) if self.baselines is not None else None
            start = 0
            if node is not None and node.model is None:
                assert self.baselines is not None
                start = self.baselines.learn(node_id, node, x)
            if start >= len(idx):
                continue
            model, kind = (
                (node.model, "node")
                if node is not None and node.model
                else (
                    self.model,
                    "shipped",
                )
            )
            scores = model.score(x[start:])
            for i, s in zip(idx[start:], scores, strict=True):
                out[i] = (float(s), model, kind)
        return out

    def handle(self, events: list[EventBase]) -> list[EventBase]:
        flows = [e for e in events if isinstance(e, FlowRecord)]
        if not flows:
            return []
        scored = self._score(flows)
        out: list[EventBase] = []
        for flow, verdict in zip(flows, scored, strict=True):
            sensors = self._sensors(flow)
            if verdict is None:
                continue  # the node's learning period
            score, model, kind = verdict
            if score <= model.threshold:
                continue
            out.append(
                AnomalyEvent.about_flow(
                    flow,
                    detector="iforest",
                    score=score,
                    threshold=model.threshold,
                    severity="medium" if len(sensors) >= 2 else "low",
                    evidence={
                        "sensors_seeing_source": len(sensors),
                        "sensors": ",".join(sensors)[:200],
                        "model": kind,
                        "beyond_learned_range": model.beyond_range(np.asarray(flow.features))[0],
                    },
                )
            )
        return out

    def close(self) -> None:
        if self.baselines is not None:
            self.baselines.flush()

    def describe(self) -> str:
        if self.baselines is None:
            return "shipped model for every node"
        c = self.baselines.cfg
        return json.dumps(
            {
                "learning_flows": c.flows,
                "max_nodes": c.max_nodes,
                "trim": c.trim,
                "quantile": c.quantile,
                "state_dir": str(c.state_dir) if c.state_dir else None,
                "nodes_loaded": len(self.baselines.nodes),
            }
        )
