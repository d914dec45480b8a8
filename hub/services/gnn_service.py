"""``gnn-predictor``: ``attack_classified`` + ``anomalies`` + ``network_data`` -> ``attack_predicted``.

Keeps the host graph of a sliding window of **event time** (capture time): flows aggregated
per (src, dst, port), attacks per (src, dst) from the classifier's verdicts and from the
detectors' anomalies that name a family (a rule's verdict). Every ``every_s`` of event time,
if an attack was seen, it ranks the hosts that may be attacked next with the GNN and emits
an ``AttackPrediction`` for each of the ``top_k`` above ``min_p`` (path = chain of compromised
hosts leading there). The same host is predicted again only after ``horizon_s`` or if its
probability rose by 0.1. Alerts come from the alerting service, which opens a
``predicted-...`` incident for confident predictions and escalates an incident when a
predicted host is then attacked.

Time (see :mod:`hub.services.eventtime`): each node has its own event clock, moved only by
that node's flows' ``end_ts`` and anomalies' ``window_end`` and bounded by the hub's clock;
every edge of the graph is aged by the clock of the node that reported it, so one node's
times (a flow dated 2099, a confirmed jump a day ahead) never age another node's edges out
of the window. Rounds are paced by the fleet's clock (the upper median of the active nodes'
clocks). A classification or an anomaly is placed at the end of its flow (looked up by its
node and ``flow_id``), else at its node's clock: their ``ts`` is the wall clock of the
process that made them, which says nothing about when the traffic happened (a replayed
capture is years old).

Bounds: at most ``MAX_EDGES`` flow edges, ``MAX_ATTACKS`` attack pairs and ``MAX_FLOW_IDS``
remembered flow ids; the oldest go first.

State: in memory, not checkpointed; after a restart the graph is rebuilt from the stream
(predictions need one window of traffic to be as good again). It is advisory state: inputs
are still committed only after the predictions of their batch are delivered.
"""

from __future__ import annotations

import itertools
import math
import uuid
from collections import OrderedDict
from collections.abc import Sequence

from contracts.events import (
    AnomalyEvent,
    AttackClassification,
    AttackPrediction,
    EventBase,
    FlowRecord,
)
from contracts.features import FLOW_FEATURES
from contracts.topics import KafkaTopic
from hub.services.eventtime import EventClock, FleetClock
from models.gnn.model import HostGraph, Predictor

__all__ = ["EventClock", "FleetClock", "GnnService", "severity_for"]

MAX_EDGES = 200_000
MAX_ATTACKS = 50_000
MAX_FLOW_IDS = 200_000
_FWD, _BWD = FLOW_FEATURES.index("fwd_bytes"), FLOW_FEATURES.index("bwd_bytes")


def severity_for(p: float) -> str:
    return "critical" if p >= 0.95 else "high" if p >= 0.8 else "medium" if p >= 0.6 else "low"


class GnnService:
    name = "gnn-predictor"
    inputs: Sequence[str] = (
        KafkaTopic.ATTACK_CLASSIFIED.value,
        KafkaTopic.ANOMALIES.value,
        KafkaTopic.NETWORK_DATA.value,
    )
    accepts = frozenset({"flow", "classification", "anomaly"})

    def __init__(
        self,
        model: Predictor,
        every_s: float = 10.0,
        top_k: int = 5,
        min_p: float = 0.5,
        window_s: float = 900.0,
        horizon_s: float = 300.0,
        clock: FleetClock | None = None,
    ) -> None:
        self.model = model
        self.every_s, self.top_k, self.min_p = every_s, top_k, min_p
        self.window_s, self.horizon_s = window_s, horizon_s
        self.clock = clock or FleetClock()
        """one event clock per node (bounded by the hub's clock) and the fleet's"""
        # (src, dst, port) -> (bytes, last event time, its node), oldest first
        self.flows: OrderedDict[tuple[str, str, int], tuple[float, float, str]] = OrderedDict()
        # (src, dst) -> (count, last event time, family, first event id, its node), oldest first
        self.attacks: OrderedDict[
            tuple[str, str | None], tuple[int, float, str, uuid.UUID, str]
        ] = OrderedDict()
        self._flow_end: OrderedDict[tuple[str, str], float] = OrderedDict()  # (node, flow) -> end
        self._last_run = -math.inf
        self._dirty = False
        self._emitted: dict[str, tuple[float, float]] = {}  # host -> (event time, probability)
        self.last_graph = HostGraph()
        """The graph of the last prediction round (for benchmarks and the operator's 'why')."""

    @property
    def now(self) -> float:
        return self.clock.now if self.clock.now is not None else 0.0

    def graph(self) -> HostGraph:
        """The host graph of the last ``window_s`` of event time, each edge aged by the clock
        of the node that reported it (placed at ``now - age`` on the fleet's clock)."""
        now, age = self.now, self.clock.age
        for k in [k for k, v in self.flows.items() if age(v[2], v[1]) > self.window_s]:
            del self.flows[k]
        for a in [k for k, v in self.attacks.items() if age(v[4], v[1]) > self.window_s]:
            del self.attacks[a]
        g = HostGraph()
        for (s, d, p), (b, t, node) in self.flows.items():
            g.add_flow(s, d, p, b, now - age(node, t))
        for (a_src, a_dst), (n, t, _, _, node) in self.attacks.items():
            for _ in range(min(n, 50)):
                g.add_attack(a_src, a_dst, now - age(node, t))
        g.now = now
        return g

    def _flow(self, ev: FlowRecord) -> None:
        t = self.clock.observe(ev.node_id, ev.end_ts)
        if t is None:
            return
        self._flow_end[(ev.node_id, ev.flow_id)] = t
        if len(self._flow_end) > MAX_FLOW_IDS:
            self._flow_end.popitem(last=False)
        k = (ev.src_ip, ev.dst_ip, ev.dst_port)
        old = self.flows.pop(k, None)
        nbytes = max(float(ev.features[_FWD]) + float(ev.features[_BWD]), 0.0)
        if old is not None and old[2] == ev.node_id:
            t = max(t, old[1])
        self.flows[k] = ((old[0] if old else 0.0) + nbytes, t, ev.node_id)
        if len(self.flows) > MAX_EDGES:
            self.flows.popitem(last=False)

    def _when(self, node: str, flow_id: str | None, window_end: float | None) -> float | None:
        """Event time of a verdict of ``node``: its flow's end, else its window's, else the
        node's clock."""
        if flow_id is not None and (node, flow_id) in self._flow_end:
            return self._flow_end[(node, flow_id)]
        if window_end is not None:
            return self.clock.observe(node, window_end)
        return self.clock.node_now(node)

    def _attack(
        self, node: str, src: str, dst: str | None, family: str, t: float | None, eid: uuid.UUID
    ) -> None:
        if t is None:
            return
        ak = (src, dst)
        old = self.attacks.pop(ak, None)
        n, last, fam, first, was = old if old else (0, t, family, eid, node)
        last = max(last, t) if was == node else t
        self.attacks[ak] = (n + 1, last, family or fam, first, node)
        if len(self.attacks) > MAX_ATTACKS:
            self.attacks.popitem(last=False)
        self._dirty = True

    def handle(self, events: list[EventBase]) -> list[EventBase]:
        for ev in events:
            if isinstance(ev, FlowRecord):
                self._flow(ev)
        for ev in events:  # after the flows of the batch: a verdict finds its flow's time
            if isinstance(ev, AttackClassification) and ev.src_ip and ev.family != "benign":
                t = self._when(ev.node_id, ev.flow_id, None)
                self._attack(ev.node_id, ev.src_ip, ev.dst_ip, ev.family, t, ev.event_id)
            elif (
                isinstance(ev, AnomalyEvent)
                and ev.src_ip
                and ev.family is not None
                and ev.family != "benign"
            ):
                t = self._when(ev.node_id, ev.flow_id, ev.window_end)
                self._attack(ev.node_id, ev.src_ip, ev.dst_ip, ev.family, t, ev.event_id)
        if not self._dirty or self.now - self._last_run < self.every_s:
            return []
        return self.predict()

    def predict(self) -> list[EventBase]:
        self._last_run, self._dirty = self.now, False
        g = self.last_graph = self.graph()
        out: list[EventBase] = []
        by_src: dict[str, tuple[str, uuid.UUID]] = {}  # attacker -> its latest family, event
        for (a_src, _), (_, _, a_fam, a_id, _) in self.attacks.items():
            by_src[a_src] = (a_fam, a_id)
        for r in self.model.rank(g, self.top_k):
            if r.probability < self.min_p:
                continue
            prev = self._emitted.get(r.host)
            if prev and self.now - prev[0] < self.horizon_s and r.probability < prev[1] + 0.1:
                continue
            self._emitted[r.host] = (self.now, r.probability)
            fam, ids = "other", []
            for s, d in itertools.pairwise(r.path):
                a = self.attacks.get((s, d))
                if a is not None:
                    fam = a[2]
                    ids.append(a[3])
            if not ids and len(r.path) > 1 and r.path[-2] in by_src:
                # not attacked yet: the family of what its compromised neighbour is doing
                fam, first = by_src[r.path[-2]]
                ids.append(first)
            out.append(
                AttackPrediction(
                    node_id="hub",
                    target_host=r.host,
                    probability=round(r.probability, 4),
                    severity=severity_for(r.probability),  # type: ignore[arg-type]
                    family=fam,  # type: ignore[arg-type]
                    path=r.path[-16:],
                    horizon_s=self.horizon_s,
                    predictor="gnn",
                    model_version=str(self.model.meta.get("trained_at", ""))[:64] or None,
                    source_ids=ids[-64:],
                )
            )
        if len(self._emitted) > MAX_ATTACKS:
            lo = self.now - self.horizon_s
            self._emitted = {h: v for h, v in self._emitted.items() if v[0] >= lo}
        return out
